"""The public booking page of a business, ``/b/{org_slug}``."""
