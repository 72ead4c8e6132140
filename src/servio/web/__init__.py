"""Composition: the app factory, routers, pages."""
