#!/usr/bin/python3
# A real SMTP server for the notifier's tests (Debian python3-aiosmtpd):
#
#   /usr/bin/python3 tests/tools/smtp-sink.py PORT DIR
#
# listens on 127.0.0.1:PORT and writes every message it accepts to DIR as
# <n>.eml: an "X-Envelope-From:" line, one "X-Envelope-To:" line per
# recipient, then the message exactly as received. The file appears whole
# (written under another name, then renamed). Prints "ready" on stdout once
# it accepts connections; stops on SIGTERM.
import asyncio
import itertools
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        head = "X-Envelope-From: %s\r\n" % envelope.mail_from
        head += "".join("X-Envelope-To: %s\r\n" % r for r in envelope.rcpt_tos)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        tmp = os.path.join(self.directory, ".%d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(head.encode("ascii") + content)
        os.rename(tmp, os.path.join(self.directory, "%d.eml" % n))
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Recorder(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
