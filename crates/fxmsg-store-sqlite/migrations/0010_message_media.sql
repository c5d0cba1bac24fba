-- The media each message refers to (covers, images), so that retention can tell which media no
-- remaining message needs. Written with the message, in its transaction; backfilled here from
-- every string in a message's content that names one of its corp's media.
CREATE TABLE message_media (
    message_seq INTEGER NOT NULL,
    media_id    TEXT NOT NULL,
    PRIMARY KEY (message_seq, media_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX message_media_by_media ON message_media(media_id);
INSERT OR IGNORE INTO message_media (message_seq, media_id)
    SELECT m.seq, j.value
      FROM messages AS m, json_tree(m.content) AS j
     WHERE j.type = 'text'
       AND j.value IN (SELECT media_id FROM media WHERE media.corp_id = m.corp_id);
