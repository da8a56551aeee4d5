/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-types.h: the words other tools rely on (status, role, provider kind)
 * and the codes a failed request is told apart by.
 *
 * The words are the enums' nicks: glib-mkenums registers the types (in
 * rill-enums.h), and the functions below read the words from there, so
 * each word is written once. The status and role words are stored in the
 * history database and the provider kinds in GSettings: the nicks are
 * spelled out so that renaming a value cannot change them. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  RILL_STATUS_STREAMING,   /*< nick=streaming >*/
  RILL_STATUS_COMPLETE,    /*< nick=complete >*/
  RILL_STATUS_STOPPED,     /*< nick=stopped >*/
  RILL_STATUS_FAILED,      /*< nick=failed >*/
  RILL_STATUS_INTERRUPTED, /*< nick=interrupted >*/
  RILL_STATUS_DENIED,      /*< nick=denied >*/ /* a tool call the person declined */
} RillStatus;

typedef enum {
  RILL_ROLE_SYSTEM,    /*< nick=system >*/
  RILL_ROLE_USER,      /*< nick=user >*/
  RILL_ROLE_ASSISTANT, /*< nick=assistant >*/
  RILL_ROLE_TOOL,      /*< nick=tool >*/ /* a tool's result (schema 8) */
} RillRole;

typedef enum {
  RILL_PROVIDER_OPENAI, /*< nick=openai >*/
  RILL_PROVIDER_OLLAMA, /*< nick=ollama >*/
} RillProviderKind;

/* Why a request to a server failed, for the window to decide what to offer
 * (fixing the key, waiting, retrying); the message says it in words. */
#define RILL_ERROR (rill_error_quark ())

typedef enum {
  RILL_ERROR_UNAUTHORIZED,  /* HTTP 401 or 403: the key is missing or wrong */
  RILL_ERROR_RATE_LIMITED,  /* HTTP 429 */
  RILL_ERROR_SERVER_ERROR,  /* HTTP 5xx */
  RILL_ERROR_HTTP,          /* any other HTTP error status */
  RILL_ERROR_TIMEOUT,       /* no answer in time, or silence while streaming */
  RILL_ERROR_CONNECTION,    /* refused, unreachable, reset, or closed before the end */
  RILL_ERROR_SERVER_SAID,   /* the server sent an error event or line */
  RILL_ERROR_INVALID,       /* the server sent something we do not understand */
  RILL_ERROR_ADDRESS,       /* the server address is not a valid URL */
  RILL_ERROR_NO_MODEL,      /* no model was chosen and the server lists none */
  RILL_ERROR_NO_SERVER,     /* none is configured and none answered here */
} RillError;

GQuark            rill_error_quark             (void);
/* The code for an HTTP error status (>= 300). */
RillError         rill_error_from_http_status  (guint             status);

/* A word these functions do not know is read as "failed", "user" or
 * "openai": a row whose status cannot be read is not shown as complete. */
const char       *rill_status_to_string        (RillStatus        status);
RillStatus        rill_status_from_string      (const char       *word);
const char       *rill_role_to_string          (RillRole          role);
RillRole          rill_role_from_string        (const char       *word);
const char       *rill_provider_kind_to_string (RillProviderKind  kind);
RillProviderKind  rill_provider_kind_from_string (const char     *word);

/* A status as a person reads it, translated: as a label of its own
 * ("Failed"), NULL for a complete or streaming reply, which need no word. */
const char       *rill_status_describe         (RillStatus        status);
/* The same inside a sentence ("failed"), as the Markdown export writes it;
 * NULL for a complete reply. */
const char       *rill_status_describe_inline  (RillStatus        status);

/* Repairs invalid UTF-8 with U+FFFD; returns a new string or NULL when
 * @text already is valid (so the hot path allocates nothing). */
char             *rill_utf8_repair             (const char       *text,
                                                gssize            len);

G_END_DECLS

#include "rill-enums.h"
