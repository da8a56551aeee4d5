/* rill-types.h: the words other tools rely on (status, role, provider kind). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  RILL_STATUS_STREAMING,
  RILL_STATUS_COMPLETE,
  RILL_STATUS_STOPPED,
  RILL_STATUS_FAILED,
  RILL_STATUS_INTERRUPTED,
} RillStatus;

typedef enum {
  RILL_ROLE_SYSTEM,
  RILL_ROLE_USER,
  RILL_ROLE_ASSISTANT,
} RillRole;

typedef enum {
  RILL_PROVIDER_OPENAI,
  RILL_PROVIDER_OLLAMA,
} RillProviderKind;

const char       *rill_status_to_string        (RillStatus        status);
RillStatus        rill_status_from_string      (const char       *word);
const char       *rill_role_to_string          (RillRole          role);
RillRole          rill_role_from_string        (const char       *word);
const char       *rill_provider_kind_to_string (RillProviderKind  kind);
RillProviderKind  rill_provider_kind_from_string (const char     *word);

/* Repairs invalid UTF-8 with U+FFFD; returns a new string or NULL when
 * @text already is valid (so the hot path allocates nothing). */
char             *rill_utf8_repair             (const char       *text,
                                                gssize            len);

G_END_DECLS
