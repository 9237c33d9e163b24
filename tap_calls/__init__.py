"""tap-calls: a Singer tap for Gong and Clari Copilot sales-call data."""
