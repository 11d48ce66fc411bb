"""headwater-srt: SRT publishing (encrypted, port ranges, stream ids) for headwater."""
