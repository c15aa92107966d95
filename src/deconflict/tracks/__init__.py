"""Live tracks: position reports in (CoT, TAK protocol, SBS-1, HTTP), each judged with the
engine's rules; alerts out (the log, the streams, the inboxes, TAK clients). See docs/tracks.md."""
