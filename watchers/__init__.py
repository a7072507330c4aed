"""The watch service: watchdog observers → our own events → settle → the shared pipeline."""
