/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-export.c: a conversation written by real replies (the libsoup client
 * against the test server, into a real SQLite file), exported as Markdown
 * and as JSON. The Markdown is compared whole; the JSON is parsed back and
 * every field compared with the stored row, byte for byte. */

#include <string.h>

#include <json-glib/json-glib.h>

#include "rill-export.h"
#include "rill-test-server.h"
#include "rill-test-support.h"

#define CHAT "/v1/chat/completions"
#define WAIT_MS 20000

/* Quotes, a backslash, a control character, a tab, CJK and an emoji: what
 * JSON must escape and give back unchanged. */
#define TITLE "Plan “A” — \"quoted\" \\ 计划"
#define SYSTEM_PROMPT "Answer briefly.\nNo \"markup\"."
#define USER_TEXT "Two lines:\nfirst\tand \"second\" \x01 你好 👋"

static const char complete_sse[] =
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
  "\"reasoning_content\":\"Think\"}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null,"
  "\"reasoning_content\":\" it over,\\nthen \\\"answer\\\".\"}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{"
  "\"content\":\"# Answer\\n\\nIt is \\\"42\\\"\\t\\u0001 答案 👋\\n\"}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\\ done\"},"
  "\"finish_reason\":\"stop\"}]}\n\n"
  "data: [DONE]\n\n";
#define COMPLETE_REASONING "Think it over,\nthen \"answer\"."
#define COMPLETE_CONTENT "# Answer\n\nIt is \"42\"\t\x01 答案 👋\n\\ done"

static const char failed_sse[] =
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Half an \\\"answer\"}}]}\n\n"
  "data: {\"error\": {\"message\": \"The model \\\"m\\\" is overloaded.\", "
  "\"type\": \"server_error\"}}\n\n";
#define FAILED_CONTENT "Half an \"answer"
#define FAILED_ERROR_PART "The model \"m\" is overloaded."

typedef struct
{
  char            *dir;
  char            *db_path;
  RillStore       *store;
  RillTestServer  *server;
  RillProvider    *provider;
  RillReplyOptions options;
  gint64           conversation_id;
} Fixture;

static void
update_conversation (Fixture               *f,
                     RillConversationField  field,
                     const char            *value)
{
  TestResult r = { 0 };

  rill_store_update_conversation_async (f->store, f->conversation_id, field, value, NULL,
                                        test_write_cb, &r);
  test_wait_for (&r.done, WAIT_MS, "the conversation to be updated");
  g_assert_no_error (r.error);
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;

  f->dir = test_make_tmpdir ();
  f->db_path = g_build_filename (f->dir, "rill", "history.db", NULL);
  f->store = rill_store_open (f->db_path, &error);
  g_assert_no_error (error);
  f->server = rill_test_server_new ();
  base = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  f->provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  rill_reply_options_init (&f->options);

  f->conversation_id = test_create_conversation (f->store, TITLE);
  update_conversation (f, RILL_CONVERSATION_MODEL, "test-model");
  update_conversation (f, RILL_CONVERSATION_SYSTEM_PROMPT, SYSTEM_PROMPT);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  rill_reply_options_clear (&f->options);
  g_clear_object (&f->provider);
  g_clear_pointer (&f->server, rill_test_server_free);
  /* A reply lets go of the store once its final write is reported. */
  test_store_close (f->store);
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->db_path);
}

static void
finished_cb (RillReply *reply,
             gboolean  *finished)
{
  *finished = TRUE;
}

static gboolean
content_reached (gpointer data)
{
  RillReply *reply = data;

  return rill_reply_get_content (reply)->len >= strlen ("Stop me here");
}

/* Sends @user_text and answers it with @script; with @stop_at_gate, the
 * person presses Stop once the text before the gate has arrived. */
static void
reply_with (Fixture        *f,
            const char     *user_text,
            GPtrArray      *attachments,
            RillTestScript *script,
            gboolean        stop_at_gate)
{
  g_autoptr(RillReply) reply = NULL;
  gboolean finished = FALSE;

  rill_test_server_route (f->server, CHAT, script);
  reply = rill_reply_new (f->store, f->provider, f->conversation_id, user_text, &f->options);
  if (attachments != NULL)
    rill_reply_set_attachments (reply, attachments);
  g_signal_connect (reply, "finished", G_CALLBACK (finished_cb), &finished);
  rill_reply_start (reply);
  if (stop_at_gate)
    {
      test_wait_until (content_reached, reply, WAIT_MS, "the text before Stop");
      rill_reply_stop (reply);
      rill_test_server_open_gate (f->server, "rest");
    }
  test_wait_for (&finished, WAIT_MS, "the reply to finish");
  g_assert_null (rill_reply_get_store_error (reply));
}

static void
reply (Fixture        *f,
       const char     *user_text,
       RillTestScript *script,
       gboolean        stop_at_gate)
{
  reply_with (f, user_text, NULL, script, stop_at_gate);
}

/* Three exchanges: an answer with its thinking, one stopped, one failed. */
static GPtrArray *
write_conversation (Fixture           *f,
                    RillConversation **conversation)
{
  const char * const stop_tokens[] = { "Stop ", "me ", "here", " and never this", NULL };
  g_autofree char *stop_sse = rill_test_openai_sse (stop_tokens, NULL, TRUE);
  g_autofree char *head = NULL;
  g_autoptr(GError) error = NULL;
  RillTestScript *script;
  GPtrArray *messages;

  script = rill_test_script_new (200, "text/event-stream");
  rill_test_script_send (script, complete_sse, -1, 0);
  reply (f, USER_TEXT, script, FALSE);

  head = g_strndup (stop_sse, strstr (strstr (stop_sse, "\"here\""), "\n\n") + 2 - stop_sse);
  script = rill_test_script_new (200, "text/event-stream");
  rill_test_script_send (script, head, -1, 0);
  rill_test_script_gate (script, "rest");
  rill_test_script_send (script, stop_sse + strlen (head), -1, 0);
  reply (f, "Stop me", script, TRUE);

  script = rill_test_script_new (200, "text/event-stream");
  rill_test_script_send (script, failed_sse, -1, 0);
  rill_test_script_hang (script);
  reply (f, "Fail", script, FALSE);

  *conversation = rill_store_get_conversation (f->store, f->conversation_id, &error);
  g_assert_no_error (error);
  messages = rill_store_list_messages (f->store, f->conversation_id, &error);
  g_assert_no_error (error);

  /* What the replies left in the store, which both exports must show. */
  g_assert_cmpstr (rill_conversation_get_title (*conversation), ==, TITLE);
  g_assert_cmpuint (messages->len, ==, 6);
  {
    RillMessage *answer = g_ptr_array_index (messages, 1);
    RillMessage *stopped = g_ptr_array_index (messages, 3);
    RillMessage *failed = g_ptr_array_index (messages, 5);

    g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)), ==, USER_TEXT);
    g_assert_cmpint (rill_message_get_status (answer), ==, RILL_STATUS_COMPLETE);
    g_assert_cmpstr (rill_message_get_content (answer), ==, COMPLETE_CONTENT);
    g_assert_cmpstr (rill_message_get_reasoning (answer), ==, COMPLETE_REASONING);
    g_assert_cmpstr (rill_message_get_model (answer), ==, "test-model");
    g_assert_cmpint (rill_message_get_status (stopped), ==, RILL_STATUS_STOPPED);
    g_assert_cmpstr (rill_message_get_content (stopped), ==, "Stop me here");
    g_assert_null (rill_message_get_error (stopped));
    g_assert_cmpint (rill_message_get_status (failed), ==, RILL_STATUS_FAILED);
    g_assert_cmpstr (rill_message_get_content (failed), ==, FAILED_CONTENT);
    g_assert_nonnull (strstr (rill_message_get_error (failed), FAILED_ERROR_PART));
  }
  return messages;
}

static void
test_markdown (Fixture *f, gconstpointer data)
{
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = write_conversation (f, &conversation);
  g_autofree char *markdown = rill_export_markdown (conversation, messages);
  g_autofree char *expected = NULL;
  const char *error = rill_message_get_error (g_ptr_array_index (messages, 5));

  expected = g_strconcat ("# " TITLE "\n\n",
                          "## You\n\n" USER_TEXT "\n\n",
                          "## test-model\n\n"
                          "> **Thinking**\n>\n> Think it over,\n> then \"answer\".\n\n"
                          COMPLETE_CONTENT "\n\n",
                          "## You\n\nStop me\n\n",
                          "## test-model\n\nStop me here\n\n*(stopped)*\n\n",
                          "## You\n\nFail\n\n",
                          "## test-model\n\n" FAILED_CONTENT "\n\n*(failed: ", error, ")*\n\n",
                          NULL);
  g_assert_cmpstr (markdown, ==, expected);
}

/* @member of @object is @value exactly, or absent when @value is NULL. */
static void
assert_member (JsonObject *object,
               const char *member,
               const char *value)
{
  const char *got;

  if (value == NULL)
    {
      g_assert_false (json_object_has_member (object, member));
      return;
    }
  g_assert_true (json_object_has_member (object, member));
  got = json_object_get_string_member (object, member);
  g_assert_nonnull (got);
  g_assert_cmpmem (got, strlen (got), value, strlen (value));
}

static void
test_json (Fixture *f, gconstpointer data)
{
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = write_conversation (f, &conversation);
  g_autofree char *json = rill_export_json (conversation, messages);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *array;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));

  g_assert_cmpuint (json_object_get_size (root), ==, 6);
  assert_member (root, "uid", rill_conversation_get_uid (conversation));
  g_assert_cmpuint (strlen (rill_conversation_get_uid (conversation)), ==, 32);
  assert_member (root, "title", TITLE);
  assert_member (root, "model", "test-model");
  assert_member (root, "system_prompt", SYSTEM_PROMPT);
  g_assert_cmpint (json_object_get_int_member (root, "created_at"), ==,
                   rill_conversation_get_created_at (conversation));
  g_assert_cmpint (json_object_get_int_member (root, "created_at"), >, 0);

  array = json_object_get_array_member (root, "messages");
  g_assert_cmpuint (json_array_get_length (array), ==, messages->len);
  for (guint i = 0; i < messages->len; i++)
    {
      RillMessage *message = g_ptr_array_index (messages, i);
      JsonObject *object = json_array_get_object_element (array, i);
      const char *reasoning = rill_message_get_reasoning (message);
      guint n_members = 6;   /* uid, id, role, content, status, created_at */

      assert_member (object, "uid", rill_message_get_uid (message));
      g_assert_cmpint (json_object_get_int_member (object, "id"), ==,
                       rill_message_get_id (message));
      /* The tree: each message follows the one before it, the first none. */
      if (i == 0)
        g_assert_false (json_object_has_member (object, "parent_id"));
      else
        {
          g_assert_cmpint (json_object_get_int_member (object, "parent_id"), ==,
                           rill_message_get_id (g_ptr_array_index (messages, i - 1)));
          n_members++;
        }
      assert_member (object, "role", rill_role_to_string (rill_message_get_role (message)));
      assert_member (object, "content", rill_message_get_content (message));
      /* No thinking is no member, not an empty one. */
      assert_member (object, "reasoning", reasoning && *reasoning ? reasoning : NULL);
      /* The database's word, not its translation. */
      assert_member (object, "status", rill_status_to_string (rill_message_get_status (message)));
      assert_member (object, "error", rill_message_get_error (message));
      assert_member (object, "model", rill_message_get_model (message));
      g_assert_cmpint (json_object_get_int_member (object, "created_at"), ==,
                       rill_message_get_created_at (message));
      n_members += (reasoning && *reasoning) + (rill_message_get_error (message) != NULL) +
                   (rill_message_get_model (message) != NULL);
      /* What a reply cost, each figure only where known. */
      {
        const char *keys[] = { "prompt_tokens", "completion_tokens", "ttft_ms", "generation_ms" };
        gint64 values[] = {
          rill_message_get_prompt_tokens (message), rill_message_get_completion_tokens (message),
          rill_message_get_ttft_ms (message), rill_message_get_generation_ms (message),
        };

        for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
          {
            g_assert_true (json_object_has_member (object, keys[k]) == (values[k] >= 0));
            if (values[k] >= 0)
              g_assert_cmpint (json_object_get_int_member (object, keys[k]), ==, values[k]);
            n_members += values[k] >= 0;
          }
      }
      g_assert_cmpuint (json_object_get_size (object), ==, n_members);
    }

  /* The values as they were sent, not only as the store returns them. */
  assert_member (json_array_get_object_element (array, 0), "role", "user");
  assert_member (json_array_get_object_element (array, 0), "content", USER_TEXT);
  assert_member (json_array_get_object_element (array, 1), "content", COMPLETE_CONTENT);
  assert_member (json_array_get_object_element (array, 1), "reasoning", COMPLETE_REASONING);
  assert_member (json_array_get_object_element (array, 1), "status", "complete");
  assert_member (json_array_get_object_element (array, 3), "status", "stopped");
  assert_member (json_array_get_object_element (array, 5), "status", "failed");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (array, 5),
                                                           "error"),
                            FAILED_ERROR_PART));
}

/* Markdown with attachments: the images are written beside the file, in
 * "<name>_files", each once under a unique safe name, and linked; a text
 * file is listed by name. Read back through the links, each image's bytes
 * are the database's. Exporting again leaves the same files and nothing
 * else. */

static GBytes *
binary_bytes (guint8 seed, gsize len)
{
  guint8 *data = g_malloc (len);

  /* Every byte value, NULs and CRs among them. */
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (i * seed + seed);
  return g_bytes_new_take (data, len);
}

static RillTestScript *
answer_script (void)
{
  const char * const tokens[] = { "Seen.", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");

  rill_test_script_send (script, sse, -1, 0);
  return script;
}

/* The targets of the image links of @markdown, unescaped, in order. */
static GPtrArray *
image_links (const char *markdown)
{
  g_autoptr(GRegex) regex = g_regex_new ("!\\[(?:[^\\]\\\\]|\\\\.)*\\]\\(([^)]+)\\)", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  GPtrArray *links = g_ptr_array_new_with_free_func (g_free);

  g_regex_match (regex, markdown, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *target = g_match_info_fetch (match, 1);

      g_ptr_array_add (links, g_uri_unescape_string (target, NULL));
      g_match_info_next (match, NULL);
    }
  return links;
}

static guint
count_files (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static GHashTable *
attachments_of (Fixture   *f,
                GPtrArray *messages)
{
  GHashTable *attachments = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                   (GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < messages->len; i++)
    {
      gint64 id = rill_message_get_id (g_ptr_array_index (messages, i));
      g_autoptr(GError) error = NULL;
      GPtrArray *found = rill_store_list_attachments (f->store, id, &error);

      g_assert_no_error (error);
      g_hash_table_insert (attachments, g_memdup2 (&id, sizeof id), found);
    }
  return attachments;
}

static void
export_and_check (Fixture          *f,
                  RillConversation *conversation,
                  GPtrArray        *messages,
                  GHashTable       *attachments,
                  const char       *out_dir,
                  char            **markdown)
{
  g_autofree char *md_path = g_build_filename (out_dir, "chat 计划.md", NULL);
  g_autofree char *folder = g_build_filename (out_dir, "chat 计划_files", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (md_path);
  g_autoptr(GPtrArray) links = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *first = g_hash_table_lookup (attachments,
                                          &(gint64) { rill_message_get_id (messages->pdata[0]) });
  GPtrArray *second = g_hash_table_lookup (attachments,
                                           &(gint64) { rill_message_get_id (messages->pdata[2]) });
  RillStoredAttachment *expected[3];

  g_assert_true (rill_export_markdown_to_file (conversation, messages, attachments, file, NULL,
                                               &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (md_path, markdown, NULL, &error));
  g_assert_no_error (error);

  /* Two images in the first message, the first again in the third. */
  expected[0] = first->pdata[0];
  expected[1] = first->pdata[1];
  expected[2] = second->pdata[0];
  links = image_links (*markdown);
  g_assert_cmpuint (links->len, ==, 3);
  for (guint i = 0; i < links->len; i++)
    {
      const char *link = g_ptr_array_index (links, i);
      g_autofree char *path = NULL;
      g_autofree char *data = NULL;
      gsize len;

      /* Relative, into the folder. */
      g_assert_false (g_path_is_absolute (link));
      g_assert_true (g_str_has_prefix (link, "chat 计划_files/"));
      path = g_build_filename (out_dir, link, NULL);
      g_assert_true (g_file_get_contents (path, &data, &len, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (data, len, g_bytes_get_data (expected[i]->data, NULL),
                       g_bytes_get_size (expected[i]->data));
    }
  /* The same name twice: two files; the same bytes twice: one. */
  g_assert_cmpstr (links->pdata[0], ==, "chat 计划_files/photo.png");
  g_assert_cmpstr (links->pdata[1], ==, "chat 计划_files/photo-2.png");
  g_assert_cmpstr (links->pdata[2], ==, "chat 计划_files/photo.png");
  g_assert_cmpuint (count_files (folder), ==, 2);
  g_assert_nonnull (strstr (*markdown, "![photo.png](chat%20计划_files/photo.png)"));
  g_assert_nonnull (strstr (*markdown, "Attached files:\n\n- notes.txt\n"));
}

static void
test_markdown_images (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rill_stored_attachment_free);
  g_autoptr(GPtrArray) again = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rill_stored_attachment_free);
  g_autoptr(GBytes) one = binary_bytes (7, 3000);
  g_autoptr(GBytes) two = binary_bytes (13, 5000);
  g_autoptr(GBytes) notes = g_bytes_new_static ("buy milk\n", 9);
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GHashTable) attachments = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out_dir = g_build_filename (f->dir, "out", NULL);
  g_autofree char *stale = g_build_filename (out_dir, "chat 计划_files", "stale.png", NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  g_ptr_array_add (files, rill_stored_attachment_new ("photo.png", "image/png", one, NULL));
  g_ptr_array_add (files, rill_stored_attachment_new ("photo.png", "image/png", two, NULL));
  g_ptr_array_add (files, rill_stored_attachment_new ("notes.txt", "text/plain", notes,
                                                      "File: notes.txt\n```text\nbuy milk\n```\n"));
  reply_with (f, "Look", files, answer_script (), FALSE);
  g_ptr_array_add (again, rill_stored_attachment_new ("photo.png", "image/png", one, NULL));
  reply_with (f, "Again", again, answer_script (), FALSE);

  conversation = rill_store_get_conversation (f->store, f->conversation_id, &error);
  g_assert_no_error (error);
  messages = rill_store_list_path (f->store, f->conversation_id, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 4);
  attachments = attachments_of (f, messages);

  g_assert_cmpint (g_mkdir_with_parents (out_dir, 0700), ==, 0);
  export_and_check (f, conversation, messages, attachments, out_dir, &first);
  /* Again, over a file left in the folder: the same, and nothing else. */
  g_file_set_contents (stale, "old", -1, &error);
  g_assert_no_error (error);
  export_and_check (f, conversation, messages, attachments, out_dir, &second);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (first, ==, second);
}

static void
test_markdown_folder_name (Fixture *f, gconstpointer data)
{
  const struct { const char *in, *out; } names[] = {
    { "chat.md", "chat_files" },
    { "chat.notes.md", "chat.notes_files" },
    { "chat", "chat_files" },
    { ".md", ".md_files" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *folder = rill_export_markdown_folder_name (names[i].in);

      g_assert_cmpstr (folder, ==, names[i].out);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add ("/export/" path, Fixture, NULL, setup, func, teardown)
  ADD ("markdown", test_markdown);
  ADD ("json", test_json);
  ADD ("markdown-images", test_markdown_images);
  ADD ("markdown-folder-name", test_markdown_folder_name);
#undef ADD
  return g_test_run ();
}
