# Texts of the retrieval area (de).
