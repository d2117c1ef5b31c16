"""Reference profiles: what the training data looked like, built once and stored as JSON beside it.

* :mod:`.profile` — :class:`ReferenceProfile` and the builder that streams data into it;
* :mod:`.reader` — CSV and Parquet readers that stream only the configured columns, locally or from S3;
* :mod:`.storage` — reading and writing local files and S3 objects, with errors a person can act on.
"""
