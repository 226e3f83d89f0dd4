-- 0008: ids starting with '!' belong to distinct channels only.
--
-- Before this migration a client could create an ordinary channel under the id of a member
-- set's distinct channel (`!members-<hash>`, which anyone can compute) and so be handed that
-- pair's direct chat later. Such channels leave the namespace: their id becomes
-- `squatted-<channel uuid without dashes>` (unique, and a valid channel id), which frees the
-- distinct id for the real distinct channel. Their members keep them under the new id.
UPDATE channels
   SET channel_key = 'squatted-' || replace(id::text, '-', '')
 WHERE channel_key LIKE '!%' AND is_distinct IS NOT TRUE;
