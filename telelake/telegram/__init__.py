"""Telegram's side of things: a typed view over Update JSON, the Bot API client, exports."""
