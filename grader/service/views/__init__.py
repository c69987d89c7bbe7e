"""The service's views, one module per audience: student pages, instructor pages, the API."""
