"""Printed documents rendered from plain data (invoice PDFs): no database, no GraphQL."""
