"""Telegram's side of things: a typed view over Update JSON and a traffic simulator."""
