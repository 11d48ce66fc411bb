"""Hook implementations of headwater-srt."""
