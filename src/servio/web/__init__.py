"""The API app: the factory that mounts every domain's routers (from their manifests)
and the middleware in order, the OpenAPI document, probes, the operators' outbox and job
routes, the local checkout stand-in, unsubscribe links and the server-rendered pages."""
