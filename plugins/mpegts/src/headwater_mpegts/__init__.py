"""headwater-mpegts: MPEG-TS over HTTP publish and play, UDP/HTTP TS push for headwater."""
