"""Moving a knowledge base: to another relational database (``medkb migrate``) and to
another embedding model (``medkb reembed``)."""
