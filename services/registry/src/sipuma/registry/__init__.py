"""SIPUMA registry: the complaint database, register numbers, tickets, read and tracking API."""
