// Repositories: see below.
