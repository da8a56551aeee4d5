/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-export.c
 *
 * Markdown is for people: headings for who spoke, the thinking quoted above
 * the answer, and a line in italics under a reply that did not complete,
 * with its error, so a stopped answer is never mistaken for a whole one.
 * JSON is for tools: the stored text unchanged, and the status as the word
 * the database holds, not its translation. */

#include "rill-export.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

/* Tools: each call and each result a collapsed block, so that a long
 * result does not bury the conversation; the fence is longer than any run
 * of backticks in what it holds. */

static void
append_fenced (GString *out, const char *info, const char *text)
{
  guint longest = 0, run = 0;
  g_autofree char *fence = NULL;

  for (const char *p = text; *p; p++)
    {
      run = *p == '`' ? run + 1 : 0;
      longest = MAX (longest, run);
    }
  fence = g_strnfill (MAX (3, longest + 1), '`');
  g_string_append_printf (out, "%s%s\n%s%s%s\n", fence, info, text,
                          *text && text[strlen (text) - 1] != '\n' ? "\n" : "", fence);
}

static void
append_details (GString *out, const char *summary, const char *info, const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (summary, -1);

  g_string_append_printf (out, "<details><summary>%s</summary>\n\n", escaped);
  append_fenced (out, info, text);
  g_string_append (out, "\n</details>\n\n");
}

static const char *
tool_status_word (RillStatus status)
{
  switch (status)
    {
    /* How a tool's call ended, after its name: "Tool echo (everything): complete". */
    case RILL_STATUS_COMPLETE: return _("complete");
    case RILL_STATUS_DENIED: return _("denied");
    default: return rill_status_describe_inline (status);
    }
}

static void
append_tool_calls (GString *out, RillMessage *message)
{
  GPtrArray *calls = rill_message_get_tool_calls (message);

  for (guint i = 0; calls != NULL && i < calls->len; i++)
    {
      const RillToolCall *call = g_ptr_array_index (calls, i);
      /* The arguments as the model wrote them. */
      g_autofree char *summary = g_strdup_printf (_("Tool call %s"),
                                                  call->name ? call->name : "?");

      append_details (out, summary, "json", call->arguments->str);
    }
}

static void
append_tool_result (GString *out, RillMessage *message)
{
  const char *name = rill_message_get_tool_name (message);
  const char *server = rill_message_get_tool_server (message);
  const char *status = tool_status_word (rill_message_get_status (message));
  g_autofree char *summary = NULL;

  /* TRANSLATORS: a tool's name, its server's name, how the call ended. */
  summary = g_strdup_printf (_("Tool %s (%s): %s"), name ? name : "?", server ? server : "?",
                             status ? status : "");
  append_details (out, summary, "", rill_message_get_content (message));
}

char *
rill_export_markdown (RillConversation *conversation,
                      GPtrArray        *messages)
{
  GString *out;

  g_return_val_if_fail (RILL_IS_CONVERSATION (conversation), NULL);
  g_return_val_if_fail (messages != NULL, NULL);

  out = g_string_new (NULL);
  g_string_append_printf (out, "# %s\n\n", rill_conversation_get_title (conversation));
  for (guint i = 0; i < messages->len; i++)
    {
      RillMessage *message = g_ptr_array_index (messages, i);
      RillRole role = rill_message_get_role (message);
      const char *status = rill_status_describe_inline (rill_message_get_status (message));
      const char *reasoning = rill_message_get_reasoning (message);

      if (role == RILL_ROLE_TOOL)
        {
          append_tool_result (out, message);
          continue;
        }
      if (role == RILL_ROLE_USER)
        g_string_append_printf (out, "## %s\n\n", _("You"));
      else if (role == RILL_ROLE_SYSTEM)
        g_string_append_printf (out, "## %s\n\n", _("System"));
      else
        g_string_append_printf (out, "## %s\n\n",
                                rill_message_get_model (message) ? rill_message_get_model (message)
                                                                 : _("Assistant"));
      if (reasoning != NULL && *reasoning != '\0')
        {
          g_autofree char *quoted = NULL;
          g_auto(GStrv) lines = g_strsplit (reasoning, "\n", -1);

          quoted = g_strjoinv ("\n> ", lines);
          g_string_append_printf (out, "> **%s**\n>\n> %s\n\n", _("Thinking"), quoted);
        }
      g_string_append (out, rill_message_get_content (message));
      g_string_append (out, "\n\n");
      append_tool_calls (out, message);
      if (status != NULL && role == RILL_ROLE_ASSISTANT)
        {
          const char *error = rill_message_get_error (message);

          g_string_append_printf (out, "*(%s%s%s)*\n\n", status,
                                  error && *error ? ": " : "", error && *error ? error : "");
        }
    }
  return g_string_free (out, FALSE);
}

char *
rill_export_json (RillConversation *conversation,
                  GPtrArray        *messages)
{
  return rill_export_json_with_attachments (conversation, messages, NULL);
}

static void
add_attachments (JsonBuilder *builder,
                 GPtrArray   *attachments)
{
  if (attachments == NULL || attachments->len == 0)
    return;
  json_builder_set_member_name (builder, "attachments");
  json_builder_begin_array (builder);
  for (guint i = 0; i < attachments->len; i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (attachments, i);
      g_autofree char *base64 = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, attachment->name);
      json_builder_set_member_name (builder, "mime_type");
      json_builder_add_string_value (builder, attachment->mime_type);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, attachment->size);
      json_builder_set_member_name (builder, "sha256");
      json_builder_add_string_value (builder, attachment->sha256);
      if (attachment->data != NULL)
        {
          base64 = g_base64_encode (g_bytes_get_data (attachment->data, NULL),
                                    g_bytes_get_size (attachment->data));
          json_builder_set_member_name (builder, "data");
          json_builder_add_string_value (builder, base64);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

/* What a reply cost: the tokens the server reported and the timings
 * measured, each left out when unknown. */
static void
add_cost (JsonBuilder *builder,
          RillMessage *message)
{
  const struct { const char *key; gint64 value; } figures[] = {
    { "prompt_tokens", rill_message_get_prompt_tokens (message) },
    { "completion_tokens", rill_message_get_completion_tokens (message) },
    { "ttft_ms", rill_message_get_ttft_ms (message) },
    { "generation_ms", rill_message_get_generation_ms (message) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (figures); i++)
    if (figures[i].value >= 0)
      {
        json_builder_set_member_name (builder, figures[i].key);
        json_builder_add_int_value (builder, figures[i].value);
      }
}

/* Tool calls as the array stored (each call's arguments the model's text,
 * a string), and a result's call id, server and tool. */
static void
add_tools (JsonBuilder *builder,
           RillMessage *message)
{
  const char *calls = rill_message_get_tool_calls_json (message);
  const char *strings[][2] = {
    { "tool_call_id", rill_message_get_tool_call_id (message) },
    { "tool_server", rill_message_get_tool_server (message) },
    { "tool_name", rill_message_get_tool_name (message) },
  };

  if (calls != NULL)
    {
      JsonNode *parsed = json_from_string (calls, NULL);

      json_builder_set_member_name (builder, "tool_calls");
      /* Written by another tool as something else: kept as the text. */
      if (parsed != NULL)
        json_builder_add_value (builder, parsed);
      else
        json_builder_add_string_value (builder, calls);
    }
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    if (strings[i][1] != NULL)
      {
        json_builder_set_member_name (builder, strings[i][0]);
        json_builder_add_string_value (builder, strings[i][1]);
      }
}

char *
rill_export_json_with_attachments (RillConversation *conversation,
                                   GPtrArray        *messages,
                                   GHashTable       *attachments)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (RILL_IS_CONVERSATION (conversation), NULL);
  g_return_val_if_fail (messages != NULL, NULL);

  builder = json_builder_new ();
  generator = json_generator_new ();

  /* Absent values are left out rather than written as null. */
#define ADD_STRING(key, value) \
  G_STMT_START { \
    if ((value) != NULL) \
      { \
        json_builder_set_member_name (builder, key); \
        json_builder_add_string_value (builder, value); \
      } \
  } G_STMT_END

  json_builder_begin_object (builder);
  /* The uids are what an import, or a merge of two people's histories,
   * keys on: ids are local to one database. */
  ADD_STRING ("uid", rill_conversation_get_uid (conversation));
  ADD_STRING ("title", rill_conversation_get_title (conversation));
  ADD_STRING ("model", rill_conversation_get_model (conversation));
  ADD_STRING ("system_prompt", rill_conversation_get_system_prompt (conversation));
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, rill_conversation_get_created_at (conversation));
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  for (guint i = 0; i < messages->len; i++)
    {
      RillMessage *message = g_ptr_array_index (messages, i);

      json_builder_begin_object (builder);
      ADD_STRING ("uid", rill_message_get_uid (message));
      /* The tree: the message it follows, by its id in this file; the first
       * follows none. */
      json_builder_set_member_name (builder, "id");
      json_builder_add_int_value (builder, rill_message_get_id (message));
      if (rill_message_get_parent_id (message) != 0)
        {
          json_builder_set_member_name (builder, "parent_id");
          json_builder_add_int_value (builder, rill_message_get_parent_id (message));
        }
      ADD_STRING ("role", rill_role_to_string (rill_message_get_role (message)));
      ADD_STRING ("content", rill_message_get_content (message));
      if (rill_message_get_reasoning (message) && *rill_message_get_reasoning (message))
        ADD_STRING ("reasoning", rill_message_get_reasoning (message));
      ADD_STRING ("status", rill_status_to_string (rill_message_get_status (message)));
      ADD_STRING ("error", rill_message_get_error (message));
      ADD_STRING ("model", rill_message_get_model (message));
      add_cost (builder, message);
      json_builder_set_member_name (builder, "created_at");
      json_builder_add_int_value (builder, rill_message_get_created_at (message));
      add_tools (builder, message);
      if (attachments != NULL)
        {
          gint64 id = rill_message_get_id (message);

          add_attachments (builder, g_hash_table_lookup (attachments, &id));
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
#undef ADD_STRING

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}
