//! Times on the command line: `--since 2h`, `--since 7d`, `--until 2026-11-25T19:05:00Z`.
