"""marshmallow schemas: they shape and validate input and output, nothing else."""
