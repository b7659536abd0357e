"""Analysis of stored incidents: sector risk and impact levels (pure ``risk``, DB ``service``)."""
