"""The one HTTP server: API, web page and plugin routes (FastAPI/Starlette on uvicorn)."""
