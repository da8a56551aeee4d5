/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-titler.c: see rill-titler.h.
 *
 * The request is the smallest that gives a title: a system message that
 * asks for one, and the question with the start of the answer (a long
 * reply adds nothing to a title but cost). The answer is read whole, with
 * a bound: a title is a few words, so anything past a few KiB is a server
 * that ignored the question. */

#include <json-glib/json-glib.h>
#include <string.h>

#include "rill-titler.h"
#include "rill-types.h"

#define EXCERPT_CHARS 1000
#define MAX_ANSWER_BYTES (64 * 1024)
#define MAX_TITLE_CHARS 80

static const char instruction[] =
  "Name this conversation in at most six words, in the language of the question. "
  "Answer with the name only: no quotes, no full stop.";

typedef struct
{
  RillProviderKind kind;
  GByteArray      *body;
  guint            timeout_id;
  GCancellable    *cancellable;  /* ours: the deadline or the caller's cancels it */
  GCancellable    *caller;
  gulong           caller_id;
} Request;

static void
request_free (Request *request)
{
  if (request->caller != NULL)
    g_cancellable_disconnect (request->caller, request->caller_id);
  g_clear_object (&request->caller);
  g_clear_handle_id (&request->timeout_id, g_source_remove);
  g_clear_pointer (&request->body, g_byte_array_unref);
  g_clear_object (&request->cancellable);
  g_free (request);
}

static char *
excerpt (const char *text)
{
  if (g_utf8_strlen (text, -1) <= EXCERPT_CHARS)
    return g_strdup (text);
  return g_utf8_substring (text, 0, EXCERPT_CHARS);
}

static char *
request_body (RillProviderKind kind, const char *model, const char *question,
              const char *answer)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *asked = excerpt (question);
  g_autofree char *answered = excerpt (answer ? answer : "");
  g_autofree char *both = g_strdup_printf ("%s\n\n---\n\n%s", asked, answered);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model ? model : "");
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, "system");
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, instruction);
  json_builder_end_object (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, "user");
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, both);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  if (kind == RILL_PROVIDER_OPENAI)
    {
      json_builder_set_member_name (builder, "max_tokens");
      json_builder_add_int_value (builder, 32);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

/* Quotes, marks and a full stop that models put around a title. */
static gboolean
is_trimmed (const char *p, const char *end)
{
  static const char *marks[] = {
    "\"", "'", "“", "”", "‘", "’", "「", "」", "《", "》", "*", "#", "`", ".", "。", " ", "\t", "\r",
  };
  gsize len = g_utf8_next_char (p) - p;

  if (p + len > end)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (marks); i++)
    if (strlen (marks[i]) == len && memcmp (p, marks[i], len) == 0)
      return TRUE;
  return FALSE;
}

char *
rill_titler_clean (const char *answer)
{
  g_autofree char *line = NULL;
  const char *end;
  GString *title;
  static const char *prefixes[] = { "Title:", "title:", "Name:", "标题：", "标题:" };

  if (answer == NULL)
    return NULL;
  while (*answer == '\n' || *answer == '\r' || *answer == ' ')
    answer++;
  end = strchr (answer, '\n');
  line = g_utf8_make_valid (answer, end ? end - answer : -1);
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    if (g_str_has_prefix (line, prefixes[i]))
      memmove (line, line + strlen (prefixes[i]), strlen (line + strlen (prefixes[i])) + 1);

  /* Quotes, marks and a full stop around the words, character by character. */
  title = g_string_new (NULL);
  {
    const char *start = line;
    const char *stop = line + strlen (line);

    while (start < stop && is_trimmed (start, stop))
      start = g_utf8_next_char (start);
    while (stop > start)
      {
        const char *last = g_utf8_find_prev_char (start, stop);

        if (last == NULL || !is_trimmed (last, stop))
          break;
        stop = last;
      }
    g_string_append_len (title, start, stop - start);
  }
  if (g_utf8_strlen (title->str, -1) > MAX_TITLE_CHARS)
    {
      g_autofree char *cut = g_utf8_substring (title->str, 0, MAX_TITLE_CHARS - 1);

      g_string_assign (title, cut);
      g_string_append (title, "…");
    }
  if (title->len == 0)
    {
      g_string_free (title, TRUE);
      return NULL;
    }
  return g_string_free (title, FALSE);
}

static char *
title_from_answer (RillProviderKind kind, GByteArray *body, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonObject *message = NULL;
  const char *content = NULL;
  char *title;

  if (!json_parser_load_from_data (parser, (const char *) body->data, body->len, error))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    goto no_title;
  root = json_node_get_object (json_parser_get_root (parser));
  if (kind == RILL_PROVIDER_OLLAMA)
    message = json_object_get_object_member (root, "message");
  else if (json_object_has_member (root, "choices") &&
           JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "choices")) &&
           json_array_get_length (json_object_get_array_member (root, "choices")) > 0)
    {
      JsonNode *choice = json_array_get_element (json_object_get_array_member (root, "choices"), 0);

      if (JSON_NODE_HOLDS_OBJECT (choice))
        message = json_object_get_object_member (json_node_get_object (choice), "message");
    }
  if (message != NULL && json_object_has_member (message, "content") &&
      JSON_NODE_HOLDS_VALUE (json_object_get_member (message, "content")))
    content = json_object_get_string_member (message, "content");
  if ((title = rill_titler_clean (content)) != NULL)
    return title;

no_title:
  g_set_error (error, RILL_ERROR, RILL_ERROR_INVALID, "The server's answer held no title");
  return NULL;
}

static gboolean
deadline_cb (gpointer user_data)
{
  Request *request = user_data;

  request->timeout_id = 0;
  g_cancellable_cancel (request->cancellable);
  return G_SOURCE_REMOVE;
}

static void
caller_cancelled_cb (GCancellable *caller,
                     GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

static void read_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
read_more (GTask *task, GInputStream *stream)
{
  Request *request = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (stream, 8192, G_PRIORITY_LOW, request->cancellable, read_cb,
                                   task);
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  GError *error = NULL;
  char *title;

  if (!(bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error)))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (g_bytes_get_size (bytes) > 0)
    {
      if (request->body->len + g_bytes_get_size (bytes) > MAX_ANSWER_BYTES)
        {
          g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_INVALID,
                                   "The server's answer is too long for a title");
          g_object_unref (task);
          return;
        }
      g_byte_array_append (request->body, g_bytes_get_data (bytes, NULL),
                           g_bytes_get_size (bytes));
      read_more (task, G_INPUT_STREAM (source));
      return;
    }
  if ((title = title_from_answer (request->kind, request->body, &error)) != NULL)
    g_task_return_pointer (task, title, g_free);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GInputStream) stream = NULL;
  GError *error = NULL;

  if (!(stream = soup_session_send_finish (SOUP_SESSION (source), result, &error)))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (soup_message_get_status (message) != SOUP_STATUS_OK)
    {
      g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_HTTP, "HTTP %u %s",
                               soup_message_get_status (message),
                               soup_message_get_reason_phrase (message));
      g_object_unref (task);
      return;
    }
  read_more (task, stream);
}

void
rill_titler_request_async (RillProvider        *provider,
                           const char          *model,
                           const char          *question,
                           const char          *answer,
                           guint                timeout_ms,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *body = NULL;
  Request *request;
  GTask *task;

  g_return_if_fail (RILL_IS_PROVIDER (provider));
  g_return_if_fail (question != NULL);

  task = g_task_new (provider, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_titler_request_async);
  request = g_new0 (Request, 1);
  request->kind = rill_provider_get_kind (provider);
  request->body = g_byte_array_new ();
  request->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  if (cancellable != NULL)
    {
      request->caller = g_object_ref (cancellable);
      request->caller_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                  request->cancellable, NULL);
    }
  request->timeout_id = g_timeout_add (timeout_ms, deadline_cb, request);

  body = request_body (request->kind, model, question, answer);
  message = rill_provider_new_request (provider, SOUP_METHOD_POST,
                                       request->kind == RILL_PROVIDER_OLLAMA
                                       ? "/api/chat" : "/chat/completions");
  if (message == NULL)
    {
      g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_ADDRESS, "The address is not valid");
      g_object_unref (task);
      return;
    }
  {
    gsize len = strlen (body);

    bytes = g_bytes_new_take (g_steal_pointer (&body), len);
  }
  soup_message_set_request_body_from_bytes (message, "application/json", bytes);
  soup_session_send_async (rill_provider_get_session (provider), message, G_PRIORITY_LOW,
                           request->cancellable, send_cb, task);
}

char *
rill_titler_request_finish (RillProvider  *provider,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
