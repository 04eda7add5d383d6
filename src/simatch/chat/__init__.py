"""The conversation assistant, independent of any chat platform: intents, replies and the
engine on the services (``simatch.wiring`` builds it; the platform adapters live in bots/)."""
