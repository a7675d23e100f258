"""Flux Gallery: a shareable browser gallery for AceData Cloud Flux image tasks."""
