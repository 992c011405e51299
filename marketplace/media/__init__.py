"""Images: checked and cleaned on upload, stored by content hash, resized in the background, served for ever.

* ``images``: ``ingest_image(data) -> StoredImage`` and ``make_derivatives(sha256)``;
* ``storage``: the file layout and ``MediaStorage`` (local folder now, S3-compatible later);
* ``jobs``: ``enqueue(func_path, *args)``, inline or on RQ;
* ``views``: ``/media/<key>`` and the ``image_url`` / ``srcset`` template helpers.

Nothing here knows about products or shops: the catalog keeps the SHA-256 (and size) of its images.
"""
