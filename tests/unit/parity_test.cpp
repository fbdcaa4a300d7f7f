// Schema parity.
