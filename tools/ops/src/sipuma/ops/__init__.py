"""SIPUMA operator tools (sipuma-dlq)."""
