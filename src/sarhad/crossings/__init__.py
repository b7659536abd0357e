"""Crossing points and border markets: status timeline, hours, throughput."""
