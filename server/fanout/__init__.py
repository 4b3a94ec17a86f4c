"""Fan-out: per-meeting readers, the audience registry, connections, the uvicorn fast path."""
