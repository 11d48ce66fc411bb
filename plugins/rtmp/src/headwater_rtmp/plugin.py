"""Hook implementations of headwater-rtmp."""
