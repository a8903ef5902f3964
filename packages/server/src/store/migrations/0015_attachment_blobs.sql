-- Small blobs keep their ciphertext in their row (blobs/blob-store.ts, docs/signatures-and-encryption.md
-- "Attachment.data"): a sealed clinical note of a few kB then costs no file write and no fsync, and
-- its row is inserted in the very statement that writes the version referring to it, so a rolled-back
-- write leaves nothing behind. A blob of CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES or more keeps its
-- ciphertext in a blob object as before (ciphertext null). Same AES-256-GCM, same wrapped data key.
alter table blob add column ciphertext bytea;
-- Ciphertext does not compress: store it without trying (pglz on every note cost ingest CPU).
alter table blob alter column ciphertext set storage external;
