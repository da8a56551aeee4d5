#include "rill-types.h"

#include <string.h>

static const char * const status_words[] = {
  [RILL_STATUS_STREAMING] = "streaming",
  [RILL_STATUS_COMPLETE] = "complete",
  [RILL_STATUS_STOPPED] = "stopped",
  [RILL_STATUS_FAILED] = "failed",
  [RILL_STATUS_INTERRUPTED] = "interrupted",
};

static const char * const role_words[] = {
  [RILL_ROLE_SYSTEM] = "system",
  [RILL_ROLE_USER] = "user",
  [RILL_ROLE_ASSISTANT] = "assistant",
};

static const char * const provider_words[] = {
  [RILL_PROVIDER_OPENAI] = "openai",
  [RILL_PROVIDER_OLLAMA] = "ollama",
};

static int
word_index (const char * const *words, guint n_words, const char *word, int fallback)
{
  for (guint i = 0; word != NULL && i < n_words; i++)
    if (strcmp (words[i], word) == 0)
      return i;
  return fallback;
}

const char *
rill_status_to_string (RillStatus status)
{
  g_return_val_if_fail (status < G_N_ELEMENTS (status_words), "failed");
  return status_words[status];
}

RillStatus
rill_status_from_string (const char *word)
{
  return word_index (status_words, G_N_ELEMENTS (status_words), word, RILL_STATUS_FAILED);
}

const char *
rill_role_to_string (RillRole role)
{
  g_return_val_if_fail (role < G_N_ELEMENTS (role_words), "user");
  return role_words[role];
}

RillRole
rill_role_from_string (const char *word)
{
  return word_index (role_words, G_N_ELEMENTS (role_words), word, RILL_ROLE_USER);
}

const char *
rill_provider_kind_to_string (RillProviderKind kind)
{
  g_return_val_if_fail (kind < G_N_ELEMENTS (provider_words), "openai");
  return provider_words[kind];
}

RillProviderKind
rill_provider_kind_from_string (const char *word)
{
  return word_index (provider_words, G_N_ELEMENTS (provider_words), word, RILL_PROVIDER_OPENAI);
}

char *
rill_utf8_repair (const char *text, gssize len)
{
  if (g_utf8_validate_len (text, len < 0 ? strlen (text) : (gsize) len, NULL))
    return NULL;
  return g_utf8_make_valid (text, len);
}
