/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The words live in one place, the enums' nicks (see rill-types.h); the
 * classes are looked up once and kept, since rows are read by the
 * thousand. */

#include "rill-types.h"

#include <glib/gi18n-lib.h>
#include <string.h>

G_DEFINE_QUARK (rill-error-quark, rill_error)

RillError
rill_error_from_http_status (guint status)
{
  if (status == 401 || status == 403)
    return RILL_ERROR_UNAUTHORIZED;
  if (status == 429)
    return RILL_ERROR_RATE_LIMITED;
  if (status >= 500 && status < 600)
    return RILL_ERROR_SERVER_ERROR;
  return RILL_ERROR_HTTP;
}

/* Static types are never finalized: one reference keeps the class. */
static GEnumClass *
enum_class (GEnumClass **cache, GType type)
{
  if (g_once_init_enter (cache))
    g_once_init_leave (cache, g_type_class_ref (type));
  return *cache;
}

static GEnumClass *
status_class (void)
{
  static GEnumClass *klass;

  return enum_class (&klass, RILL_TYPE_STATUS);
}

static GEnumClass *
role_class (void)
{
  static GEnumClass *klass;

  return enum_class (&klass, RILL_TYPE_ROLE);
}

static GEnumClass *
provider_kind_class (void)
{
  static GEnumClass *klass;

  return enum_class (&klass, RILL_TYPE_PROVIDER_KIND);
}

static int
value_of (GEnumClass *klass, const char *word, int fallback)
{
  GEnumValue *value = word != NULL ? g_enum_get_value_by_nick (klass, word) : NULL;

  return value != NULL ? value->value : fallback;
}

const char *
rill_status_to_string (RillStatus status)
{
  GEnumValue *value = g_enum_get_value (status_class (), status);

  g_return_val_if_fail (value != NULL, "failed");
  return value->value_nick;
}

RillStatus
rill_status_from_string (const char *word)
{
  return value_of (status_class (), word, RILL_STATUS_FAILED);
}

const char *
rill_role_to_string (RillRole role)
{
  GEnumValue *value = g_enum_get_value (role_class (), role);

  g_return_val_if_fail (value != NULL, "user");
  return value->value_nick;
}

RillRole
rill_role_from_string (const char *word)
{
  return value_of (role_class (), word, RILL_ROLE_USER);
}

const char *
rill_provider_kind_to_string (RillProviderKind kind)
{
  GEnumValue *value = g_enum_get_value (provider_kind_class (), kind);

  g_return_val_if_fail (value != NULL, "openai");
  return value->value_nick;
}

RillProviderKind
rill_provider_kind_from_string (const char *word)
{
  return value_of (provider_kind_class (), word, RILL_PROVIDER_OPENAI);
}

const char *
rill_status_describe (RillStatus status)
{
  switch (status)
    {
    /* The status of a reply, shown beside its author. */
    case RILL_STATUS_STOPPED: return _("Stopped");
    case RILL_STATUS_FAILED: return _("Failed");
    case RILL_STATUS_INTERRUPTED: return _("Interrupted");
    case RILL_STATUS_STREAMING:
    case RILL_STATUS_COMPLETE:
    default: return NULL;
    }
}

const char *
rill_status_describe_inline (RillStatus status)
{
  switch (status)
    {
    /* The status of a reply, inside a sentence: "(failed: HTTP 500…)". */
    case RILL_STATUS_STOPPED: return _("stopped");
    case RILL_STATUS_FAILED: return _("failed");
    case RILL_STATUS_INTERRUPTED: return _("interrupted");
    case RILL_STATUS_STREAMING: return _("streaming");
    case RILL_STATUS_COMPLETE:
    default: return NULL;
    }
}

char *
rill_utf8_repair (const char *text, gssize len)
{
  if (g_utf8_validate_len (text, len < 0 ? strlen (text) : (gsize) len, NULL))
    return NULL;
  return g_utf8_make_valid (text, len);
}
