# record_env.jq - the SINCH_* environment variables that the exec sink sets
# for a record (the input), one NAME=value per line, for `env`.
{ SINCH_ID: .id, SINCH_KIND: .kind, SINCH_TYPE: .type,
  SINCH_CHANNEL: .channel, SINCH_BATCH_ID: .batch_id,
  SINCH_RECIPIENT: .recipient, SINCH_STATUS: .status, SINCH_CODE: .code,
  SINCH_FINAL: .final, SINCH_AT: .at,
  SINCH_CLIENT_REFERENCE: .client_reference, SINCH_FROM: .from,
  SINCH_TO: .to, SINCH_MESSAGE_ID: .message_id }
| to_entries[]
| select(.value != null)
| "\(.key)=\(.value | tostring | gsub("\n"; " "))"
