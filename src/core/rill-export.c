/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-export.c
 *
 * Markdown is for people: headings for who spoke, the thinking quoted above
 * the answer, and a line in italics under a reply that did not complete,
 * with its error, so a stopped answer is never mistaken for a whole one.
 * JSON is for tools: the stored text unchanged, and the status as the word
 * the database holds, not its translation.
 *
 * A Markdown file cannot hold an image, so the images go into a folder
 * beside it, linked relatively, and the two can be moved together; files
 * attached for their text are listed by name (their text is in the
 * history, not in what the person wrote). */

#include "rill-export.h"

#include <string.h>

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

/* Link text: brackets and backslashes would end it or escape. */
static void
append_link_text (GString    *out,
                  const char *text)
{
  for (const char *p = text; *p; p++)
    {
      if (*p == '[' || *p == ']' || *p == '\\')
        g_string_append_c (out, '\\');
      if (*p == '\n' || *p == '\r')
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, *p);
    }
}

static void
append_attachments (GString    *out,
                    GPtrArray  *attachments,
                    const char *folder,
                    GHashTable *image_files)
{
  gboolean any_file = FALSE;

  for (guint i = 0; i < attachments->len; i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (attachments, i);
      const char *file = image_files ? g_hash_table_lookup (image_files, attachment->sha256) : NULL;
      g_autofree char *target = NULL;
      g_autofree char *escaped = NULL;

      if (!rill_stored_attachment_is_image (attachment) || file == NULL || folder == NULL)
        continue;
      /* A relative link, escaped as a URL: names have spaces and CJK. */
      target = g_build_path ("/", folder, file, NULL);
      escaped = g_uri_escape_string (target, "/", TRUE);
      g_string_append (out, "![");
      append_link_text (out, attachment->name);
      g_string_append_printf (out, "](%s)\n\n", escaped);
    }
  for (guint i = 0; i < attachments->len; i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (attachments, i);
      const char *file = image_files ? g_hash_table_lookup (image_files, attachment->sha256) : NULL;

      if (rill_stored_attachment_is_image (attachment) && file != NULL && folder != NULL)
        continue;
      if (!any_file)
        {
          /* Translators: above the list of the files attached to a
           * message, in an exported Markdown file. */
          g_string_append_printf (out, "%s\n\n", _("Attached files:"));
          any_file = TRUE;
        }
      g_string_append_printf (out, "- %s\n", attachment->name);
    }
  if (any_file)
    g_string_append_c (out, '\n');
}

/* @attachments: a message id (gint64 *) to its RillStoredAttachments, or
 * NULL; @image_files: an image's SHA-256 to its file name in @folder. */
static char *
build_markdown (RillConversation *conversation,
                GPtrArray        *messages,
                GHashTable       *attachments,
                const char       *folder,
                GHashTable       *image_files)
{
  GString *out;

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
      if (attachments != NULL)
        {
          gint64 id = rill_message_get_id (message);
          GPtrArray *found = g_hash_table_lookup (attachments, &id);

          if (found != NULL)
            append_attachments (out, found, folder, image_files);
        }
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
rill_export_markdown (RillConversation *conversation,
                      GPtrArray        *messages)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION (conversation), NULL);
  g_return_val_if_fail (messages != NULL, NULL);

  return build_markdown (conversation, messages, NULL, NULL, NULL);
}

/* The folder of a Markdown file's images: "chat.md" keeps them in
 * "chat_files". Not "chat": a folder of that name beside the file may well
 * be the person's own (exporting "project.md" next to "project/"), and
 * exporting again empties the folder of the images. The suffix is the one
 * browsers give a page saved whole, which people know. */
char *
rill_export_markdown_folder_name (const char *markdown_name)
{
  const char *dot;

  g_return_val_if_fail (markdown_name != NULL, NULL);

  dot = strrchr (markdown_name, '.');
  if (dot == NULL || dot == markdown_name)
    dot = markdown_name + strlen (markdown_name);
  return g_strdup_printf ("%.*s_files", (int) (dot - markdown_name), markdown_name);
}

#define MAX_NAME_BYTES 120

/* A file name that is safe on any file system a person may copy the export
 * to: no separators, none of the characters Windows refuses, no control
 * characters, no leading dot (hidden) and not too long; the extension is
 * kept. */
static char *
safe_file_name (const char *name)
{
  g_autofree char *valid = g_utf8_make_valid (name, -1);
  GString *safe = g_string_new (NULL);
  const char *dot;
  g_autofree char *stem = NULL;
  g_autofree char *extension = NULL;

  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || c == 0x7f || strchr ("/\\:*?\"<>|", (int) c) != NULL)
        g_string_append_c (safe, '_');
      else
        g_string_append_unichar (safe, c);
    }
  while (safe->len > 0 && (safe->str[0] == '.' || safe->str[0] == ' '))
    g_string_erase (safe, 0, 1);
  while (safe->len > 0 && (safe->str[safe->len - 1] == '.' || safe->str[safe->len - 1] == ' '))
    g_string_truncate (safe, safe->len - 1);
  if (safe->len == 0)
    g_string_assign (safe, "image");

  /* Too long: the stem is cut at a character's boundary. */
  dot = strrchr (safe->str, '.');
  if (dot == NULL || dot == safe->str || strlen (dot) > 16)
    dot = safe->str + safe->len;
  stem = g_strndup (safe->str, dot - safe->str);
  extension = g_strdup (dot);
  if (strlen (stem) > MAX_NAME_BYTES)
    {
      const char *end = g_utf8_find_prev_char (stem, stem + MAX_NAME_BYTES + 1);

      stem[end - stem] = '\0';
    }
  g_string_free (safe, TRUE);
  return g_strconcat (stem, extension, NULL);
}

/* @name, or "name-2.ext", "name-3.ext"… not in @taken (case folded, for
 * file systems that ignore case). */
static char *
unique_name (const char *name,
             GHashTable *taken)
{
  const char *dot = strrchr (name, '.');
  g_autofree char *stem = NULL;
  char *candidate = g_strdup (name);

  if (dot == NULL || dot == name)
    dot = name + strlen (name);
  stem = g_strndup (name, dot - name);
  for (guint n = 2;; n++)
    {
      g_autofree char *folded = g_utf8_casefold (candidate, -1);

      if (!g_hash_table_contains (taken, folded))
        {
          g_hash_table_add (taken, g_steal_pointer (&folded));
          return candidate;
        }
      g_free (candidate);
      candidate = g_strdup_printf ("%s-%u%s", stem, n, dot);
    }
}

/* Empties @folder of the files a former export left (it belongs to the
 * export), or makes it. Folders inside it are left alone. */
static gboolean
prepare_folder (GFile        *folder,
                GCancellable *cancellable,
                GError      **error)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GError) local_error = NULL;

  if (g_file_make_directory_with_parents (folder, cancellable, &local_error))
    return TRUE;
  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  children = g_file_enumerate_children (folder, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, error);
  if (children == NULL)
    return FALSE;
  for (;;)
    {
      GFileInfo *info;
      GFile *child;

      if (!g_file_enumerator_iterate (children, &info, &child, cancellable, error))
        return FALSE;
      if (info == NULL)
        return TRUE;
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        continue;
      if (!g_file_delete (child, cancellable, error))
        return FALSE;
    }
}

gboolean
rill_export_markdown_to_file (RillConversation *conversation,
                              GPtrArray        *messages,
                              GHashTable       *attachments,
                              GFile            *file,
                              GCancellable     *cancellable,
                              GError          **error)
{
  g_autoptr(GHashTable) image_files = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                             g_free, g_free);
  g_autoptr(GHashTable) taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GFile) parent = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *folder_name = NULL;
  g_autofree char *markdown = NULL;
  gboolean any_image = FALSE;

  g_return_val_if_fail (RILL_IS_CONVERSATION (conversation), FALSE);
  g_return_val_if_fail (messages != NULL, FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  basename = g_file_get_basename (file);
  parent = g_file_get_parent (file);
  folder_name = rill_export_markdown_folder_name (basename);
  folder = g_file_get_child (parent, folder_name);

  for (guint i = 0; attachments != NULL && i < messages->len && !any_image; i++)
    {
      gint64 id = rill_message_get_id (g_ptr_array_index (messages, i));
      GPtrArray *found = g_hash_table_lookup (attachments, &id);

      for (guint j = 0; found != NULL && j < found->len && !any_image; j++)
        any_image = rill_stored_attachment_is_image (g_ptr_array_index (found, j));
    }
  /* A folder only when there is an image to put in it; one a former export
   * left is emptied all the same, so no image of the old text lingers. */
  if (any_image || g_file_query_exists (folder, cancellable))
    if (!prepare_folder (folder, cancellable, error))
      return FALSE;

  for (guint i = 0; any_image && i < messages->len; i++)
    {
      gint64 id = rill_message_get_id (g_ptr_array_index (messages, i));
      GPtrArray *found = g_hash_table_lookup (attachments, &id);

      for (guint j = 0; found != NULL && j < found->len; j++)
        {
          RillStoredAttachment *attachment = g_ptr_array_index (found, j);
          g_autofree char *safe = NULL;
          g_autofree char *name = NULL;
          g_autoptr(GFile) child = NULL;

          /* The same image sent twice is written once. */
          if (!rill_stored_attachment_is_image (attachment) || attachment->data == NULL ||
              g_hash_table_contains (image_files, attachment->sha256))
            continue;
          safe = safe_file_name (attachment->name);
          name = unique_name (safe, taken);
          child = g_file_get_child (folder, name);
          if (!g_file_replace_contents (child, g_bytes_get_data (attachment->data, NULL),
                                        g_bytes_get_size (attachment->data), NULL, FALSE,
                                        G_FILE_CREATE_REPLACE_DESTINATION, NULL, cancellable,
                                        error))
            return FALSE;
          g_hash_table_insert (image_files, g_strdup (attachment->sha256),
                               g_steal_pointer (&name));
        }
    }

  markdown = build_markdown (conversation, messages, attachments,
                             any_image ? folder_name : NULL, image_files);
  return g_file_replace_contents (file, markdown, strlen (markdown), NULL, FALSE,
                                  G_FILE_CREATE_REPLACE_DESTINATION, NULL, cancellable, error);
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
