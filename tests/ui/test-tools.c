/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-tools.c: the Tools button and the Preferences page for MCP servers,
 * on the real widgets, with a real mcp.json, a real history and the MCP
 * reference server (@modelcontextprotocol/server-everything, as test-mcp
 * finds it).
 *
 * The popover lists the servers of mcp.json with switches named by them,
 * starts an offered server and lists its tools with switches named by the
 * tools; flipping them stores the choice in conversations.tools and in
 * "default-tools"; a server that cannot start says why; without mcp.json
 * it says how to add a server. The page adds a server that appears in
 * mcp.json in the contract's shape, switches one off, lists and revokes
 * always-allowed tools. Every control has an accessible name.
 *
 * With RILL_SHOTS_DIR set, pictures of the popover and the page are
 * written there (light and dark, 360 px wide). */

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "rill-mcp-page-private.h"
#include "rill-tools-button.h"
#include "rill-test-support.h"

#define WAIT_MS 30000

/* Widgets by what a screen reader says */

static gboolean
has_label (GtkWidget  *widget,
           const char *label)
{
  g_autofree char *wrong = gtk_test_accessible_check_property (GTK_ACCESSIBLE (widget),
                                                               GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                               label);

  return wrong == NULL;
}

/* The first widget of @type under @root (itself included) whose accessible
 * name is @label; popovers are children of their buttons, so they are
 * searched too. */
static GtkWidget *
find_labelled (GtkWidget  *root,
               GType       type,
               const char *label)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) && has_label (root, label))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_labelled (child, type, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A GtkLabel under @root whose text contains @text. */
static GtkLabel *
find_text (GtkWidget  *root,
           const char *text)
{
  if (GTK_IS_LABEL (root) && gtk_widget_is_drawable (root)
      && strstr (gtk_label_get_text (GTK_LABEL (root)), text) != NULL)
    return GTK_LABEL (root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *found = find_text (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Every switch, button and entry under @root that shows has a name: its
 * accessible label, or its own visible label. */
static void
check_names (GtkWidget *root)
{
  gboolean control = GTK_IS_SWITCH (root) || GTK_IS_BUTTON (root) || GTK_IS_MENU_BUTTON (root)
                     || GTK_IS_EDITABLE (root);

  if (!gtk_widget_get_visible (root))
    return;
  if (control && !GTK_IS_TEXT (root))
    {
      gboolean named = gtk_test_accessible_has_property (GTK_ACCESSIBLE (root),
                                                         GTK_ACCESSIBLE_PROPERTY_LABEL)
                       || gtk_test_accessible_has_relation (GTK_ACCESSIBLE (root),
                                                            GTK_ACCESSIBLE_RELATION_LABELLED_BY)
                       || (GTK_IS_BUTTON (root) && gtk_button_get_label (GTK_BUTTON (root)))
                       || ADW_IS_ENTRY_ROW (gtk_widget_get_ancestor (root, ADW_TYPE_ENTRY_ROW));

      if (!named)
        g_error ("a %s has no accessible name", G_OBJECT_TYPE_NAME (root));
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    check_names (child);
}

/* Pictures */

static void
save_picture (GtkWidget  *widget,
              const char *name)
{
  const char *dir = g_getenv ("RILL_SHOTS_DIR");
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  if (dir == NULL)
    return;
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gtk_snapshot_append_color (snapshot,
                             &(GdkRGBA) { 0.5, 0.5, 0.5, 1 },
                             &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  path = g_build_filename (dir, name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
}

/* Waiting for frames so that a picture shows what is laid out now. */
static gboolean
frames_done (gpointer data)
{
  return --*(int *) data <= 0;
}

static void
settle (void)
{
  int frames = 30;

  /* Each iteration of the main loop is at least one idle or frame. */
  test_wait_until (frames_done, &frames, WAIT_MS, "the widgets settled");
}

/* The fixture */

typedef struct
{
  char            *config_dir;
  char            *mcp_path;
  char            *db_path;
  GSettings       *settings;
  RillSession     *session;
  RillStore       *store;
  GtkWindow       *window;
  RillToolsButton *button;
} Fixture;

static void
write_mcp (Fixture    *f,
           const char *text)
{
  g_autoptr(GError) error = NULL;

  g_mkdir_with_parents (f->config_dir, 0700);
  g_file_set_contents (f->mcp_path, text, -1, &error);
  g_assert_no_error (error);
}

static char *
everything_config (const char *extra)
{
  g_autofree char *script = test_mcp_everything_path (MCP_EVERYTHING_DIR);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *server = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "command");
  json_builder_add_string_value (builder, "node");
  json_builder_set_member_name (builder, "args");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, script);
  json_builder_add_string_value (builder, "stdio");
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  server = json_to_string (root, FALSE);
  return g_strdup_printf ("{\"mcpServers\": {\"everything\": %s%s}}", server, extra);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gboolean   *seen)
{
  *seen = TRUE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  gboolean opened = FALSE;

  f->config_dir = g_build_filename (g_get_user_config_dir (), "rill", NULL);
  f->mcp_path = g_build_filename (f->config_dir, "mcp.json", NULL);
  f->db_path = rill_store_default_path ();
  f->settings = g_settings_new ("io.github.rill.Rill");
  g_settings_reset (f->settings, "default-tools");
  g_settings_reset (f->settings, "always-allowed-tools");
  f->session = rill_session_new (f->settings, NULL);
  g_signal_connect (f->session, "notify::store", G_CALLBACK (notify_cb), &opened);
  rill_session_open_store (f->session);
  test_wait_for (&opened, WAIT_MS, "the history opened");
  f->store = rill_session_get_store (f->session);
  g_assert_nonnull (f->store);
}

static void
open_button (Fixture *f)
{
  f->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (f->window, 360, 600);
  f->button = rill_tools_button_new ();
  gtk_widget_set_halign (GTK_WIDGET (f->button), GTK_ALIGN_START);
  gtk_widget_set_valign (GTK_WIDGET (f->button), GTK_ALIGN_END);
  gtk_window_set_child (f->window, GTK_WIDGET (f->button));
  g_object_set (f->button, "session", f->session, NULL);
  gtk_window_present (f->window);
}

static void
stopped_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      data)
{
  g_assert_true (rill_toolbox_stop_all_finish (RILL_TOOLBOX (object), result, NULL));
  *(gboolean *) data = TRUE;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gboolean stopped = FALSE;

  if (f->window != NULL)
    gtk_window_destroy (f->window);
  rill_toolbox_stop_all_async (rill_session_get_toolbox (f->session), 2000, stopped_cb, &stopped);
  test_wait_for (&stopped, WAIT_MS, "the servers stopped");
  g_assert_true (rill_store_sync (f->store, WAIT_MS));
  g_clear_object (&f->session);
  g_clear_object (&f->settings);
  g_remove (f->mcp_path);
  g_free (f->config_dir);
  g_free (f->mcp_path);
  g_free (f->db_path);
}

static GtkWidget *
popover_of (Fixture *f)
{
  return GTK_WIDGET (gtk_menu_button_get_popover (
                       GTK_MENU_BUTTON (adw_bin_get_child (ADW_BIN (f->button)))));
}

typedef struct
{
  GtkWidget  *root;
  GType       type;
  const char *label;
} Find;

static gboolean
found (gpointer data)
{
  Find *find = data;

  return find_labelled (find->root, find->type, find->label) != NULL;
}

static GtkWidget *
wait_labelled (GtkWidget  *root,
               GType       type,
               const char *label)
{
  Find find = { root, type, label };

  test_wait_until (found, &find, WAIT_MS, label);
  return find_labelled (root, type, label);
}

typedef struct
{
  GtkWidget  *root;
  const char *text;
} FindText;

static gboolean
text_found (gpointer data)
{
  FindText *find = data;

  return find_text (find->root, find->text) != NULL;
}

static void
wait_text (GtkWidget  *root,
           const char *text)
{
  FindText find = { root, text };

  test_wait_until (text_found, &find, WAIT_MS, text);
}

static char *
stored_tools (Fixture *f,
              gint64   id)
{
  g_autofree char *sql = g_strdup_printf ("SELECT coalesce(tools, 'NULL') FROM conversations"
                                          " WHERE id = %" G_GINT64_FORMAT, id);

  g_assert_true (rill_store_sync (f->store, WAIT_MS));
  return test_sql_text (f->db_path, sql);
}

/* The Tools button */

static void
test_popover (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *config = NULL;
  g_autofree char *tools = NULL;
  g_autofree char *defaults = NULL;
  GtkWidget *popover, *everything, *echo, *nowhere;
  gint64 id, later;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return;
  config = everything_config (", \"nowhere\": {\"command\": \"/nonexistent/mcp-server\"}");
  write_mcp (f, config);
  id = test_create_conversation (f->store, "With tools");
  open_button (f);
  rill_tools_button_set_conversation_id (f->button, id);
  check_names (GTK_WIDGET (f->button));
  g_assert_true (has_label (adw_bin_get_child (ADW_BIN (f->button)), "Tools"));
  g_assert_cmpuint (rill_tools_button_get_n_offered (f->button), ==, 0);

  popover = popover_of (f);
  rill_tools_button_popup (f->button);
  everything = wait_labelled (popover, GTK_TYPE_SWITCH, "everything");
  nowhere = wait_labelled (popover, GTK_TYPE_SWITCH, "nowhere");
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (everything)));
  /* Not offered: not started. */
  g_assert_cmpint (rill_mcp_client_get_state (rill_toolbox_lookup (
                                                rill_session_get_toolbox (f->session),
                                                "everything")), ==, RILL_MCP_STATE_STOPPED);

  /* On: the server starts and its tools show, each switch named by its
   * tool; the choice is stored at once, and is the default for new ones. */
  gtk_switch_set_active (GTK_SWITCH (everything), TRUE);
  tools = stored_tools (f, id);
  g_assert_cmpstr (tools, ==, "{\"servers\":{\"everything\":{}}}");
  defaults = g_settings_get_string (f->settings, "default-tools");
  g_assert_cmpstr (defaults, ==, "{\"servers\":{\"everything\":{}}}");
  g_assert_cmpuint (rill_tools_button_get_n_offered (f->button), ==, 1);
  echo = wait_labelled (popover, GTK_TYPE_SWITCH, "echo");
  g_assert_nonnull (find_labelled (popover, GTK_TYPE_SWITCH, "get-sum"));
  g_assert_nonnull (find_labelled (popover, GTK_TYPE_SWITCH, "get-tiny-image"));
  g_assert_true (gtk_switch_get_active (GTK_SWITCH (echo)));
  check_names (popover);
  settle ();
  save_picture (popover, g_getenv ("RILL_SHOTS_NAME") ? g_getenv ("RILL_SHOTS_NAME")
                                                      : "tools-popover.png");

  /* A tool off. */
  gtk_switch_set_active (GTK_SWITCH (echo), FALSE);
  g_free (tools);
  tools = stored_tools (f, id);
  g_assert_cmpstr (tools, ==, "{\"servers\":{\"everything\":{\"off\":[\"echo\"]}}}");
  g_free (defaults);
  defaults = g_settings_get_string (f->settings, "default-tools");
  g_assert_cmpstr (defaults, ==, tools);

  /* A server that cannot start says why, in words, and holds up nothing. */
  gtk_switch_set_active (GTK_SWITCH (nowhere), TRUE);
  wait_text (popover, "could not be started");
  g_assert_true (find_labelled (popover, GTK_TYPE_SWITCH, "get-sum") != NULL);
  g_assert_cmpuint (rill_tools_button_get_n_offered (f->button), ==, 2);
  gtk_switch_set_active (GTK_SWITCH (nowhere), FALSE);

  /* A new conversation starts from the last choice, in the popover and in
   * the history. */
  rill_tools_button_set_conversation_id (f->button, 0);
  g_assert_cmpstr (rill_tools_button_get_tools (f->button), ==,
                   "{\"servers\":{\"everything\":{\"off\":[\"echo\"]}}}");
  later = test_create_conversation (f->store, NULL);
  g_free (tools);
  tools = stored_tools (f, later);
  g_assert_cmpstr (tools, ==, "{\"servers\":{\"everything\":{\"off\":[\"echo\"]}}}");

  /* Switched off elsewhere (another window): the switches follow. */
  rill_tools_button_set_conversation_id (f->button, id);
  rill_store_update_conversation_async (f->store, id, RILL_CONVERSATION_TOOLS, NULL, NULL, NULL,
                                        NULL);
  g_assert_true (rill_store_sync (f->store, WAIT_MS));
  settle ();
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (everything)));
  g_assert_cmpuint (rill_tools_button_get_n_offered (f->button), ==, 0);
  rill_tools_button_popdown (f->button);
}

/* Without mcp.json, the popover says where servers are added. */
static void
test_no_servers (Fixture       *f,
                 gconstpointer  data)
{
  GtkWidget *popover;

  g_remove (f->mcp_path);
  open_button (f);
  popover = popover_of (f);
  rill_tools_button_popup (f->button);
  wait_text (popover, "Preferences");
  g_assert_nonnull (find_text (popover, "No tool servers yet"));
  check_names (popover);
  settle ();
  if (g_getenv ("RILL_SHOTS_DIR") != NULL)
    save_picture (popover, "tools-popover-empty.png");
  rill_tools_button_popdown (f->button);
}

/* The Preferences page */

static JsonObject *
read_servers (Fixture   *f,
              JsonNode **root)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  json_parser_load_from_file (parser, f->mcp_path, &error);
  g_assert_no_error (error);
  *root = json_node_copy (json_parser_get_root (parser));
  return json_object_get_object_member (json_node_get_object (*root), "mcpServers");
}

static void
test_page (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GVariant) allowed = NULL;
  g_autofree char *text = NULL;
  g_autofree char *args = NULL;
  AdwPreferencesWindow *window;
  RillMcpPage *page;
  JsonObject *servers, *server;
  GtkWidget *revoke;

  write_mcp (f, "{\"mcpServers\": {\"files\": {\"command\": \"npx\","
             " \"args\": [\"-y\", \"server-files\"], \"note\": \"kept\"}}, \"theirs\": 1}");
  rill_toolbox_set_always_allowed (rill_session_get_toolbox (f->session), "files", "read_file",
                                   TRUE);
  window = ADW_PREFERENCES_WINDOW (adw_preferences_window_new ());
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 720);
  page = rill_mcp_page_new (f->session);
  adw_preferences_window_add (window, ADW_PREFERENCES_PAGE (page));
  adw_preferences_window_set_visible_page (window, ADW_PREFERENCES_PAGE (page));
  gtk_window_present (GTK_WINDOW (window));

  wait_labelled (GTK_WIDGET (page), GTK_TYPE_SWITCH, "files");
  g_assert_nonnull (find_text (GTK_WIDGET (page), f->mcp_path));
  wait_labelled (GTK_WIDGET (page), GTK_TYPE_BUTTON, "Revoke read_file");
  check_names (GTK_WIDGET (page));
  settle ();
  save_picture (GTK_WIDGET (window), g_getenv ("RILL_SHOTS_PAGE") ? g_getenv ("RILL_SHOTS_PAGE")
                                                                   : "mcp-page.png");

  /* Add a URL server with a header, through the page's own dialog. */
  _rill_mcp_page_edit (page, NULL);
  _rill_mcp_page_fill (page, "web", NULL, NULL, NULL, "https://example.com/mcp",
                       "Authorization: Bearer ${keyring:web}");
  check_names (GTK_WIDGET (_rill_mcp_page_get_dialog (page)));
  settle ();
  save_picture (GTK_WIDGET (window), g_getenv ("RILL_SHOTS_EDITOR") ? g_getenv ("RILL_SHOTS_EDITOR")
                                                                     : "mcp-editor.png");
  _rill_mcp_page_save_dialog (page);
  test_wait_until ((TestCondition) _rill_mcp_page_is_saved, page, WAIT_MS, "mcp.json written");
  servers = read_servers (f, &root);
  server = json_object_get_object_member (servers, "web");
  g_assert_cmpstr (json_object_get_string_member (server, "url"), ==, "https://example.com/mcp");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (server,
                                                                                 "headers"),
                                                  "Authorization"), ==,
                   "Bearer ${keyring:web}");
  /* What Rill does not know is kept. */
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (servers,
                                                                                 "files"),
                                                  "note"), ==, "kept");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (root), "theirs"), ==, 1);
  g_clear_pointer (&root, json_node_unref);
  wait_labelled (GTK_WIDGET (page), GTK_TYPE_SWITCH, "web");

  /* What cannot be saved is said in the editor, and nothing is written. */
  _rill_mcp_page_edit (page, NULL);
  _rill_mcp_page_fill (page, "web", "python3", NULL, NULL, NULL, NULL);
  _rill_mcp_page_save_dialog (page);
  g_assert_nonnull (find_text (_rill_mcp_page_get_dialog (page),
                               "There is already a server named “web”."));
  _rill_mcp_page_fill (page, "local", NULL, NULL, "no value here", NULL, NULL);
  _rill_mcp_page_save_dialog (page);
  g_assert_nonnull (find_text (_rill_mcp_page_get_dialog (page),
                               "Each line of the environment is NAME=value: "
                               "“no value here” is not."));
  g_assert_true (_rill_mcp_page_is_saved (page));
  g_assert_null (rill_mcp_config_lookup (rill_toolbox_get_config (
                                           rill_session_get_toolbox (f->session)), "local"));

  /* A program server with arguments and its environment. */
  _rill_mcp_page_edit (page, NULL);
  _rill_mcp_page_fill (page, "local", "python3", "-u \"my server.py\"", "TOKEN=${keyring:tok}\nA=b",
                       NULL, NULL);
  _rill_mcp_page_save_dialog (page);
  wait_labelled (GTK_WIDGET (page), GTK_TYPE_SWITCH, "local");
  test_wait_until ((TestCondition) _rill_mcp_page_is_saved, page, WAIT_MS, "saved");
  servers = read_servers (f, &root);
  server = json_object_get_object_member (servers, "local");
  g_assert_cmpstr (json_object_get_string_member (server, "command"), ==, "python3");
  args = json_to_string (json_object_get_member (server, "args"), FALSE);
  g_assert_cmpstr (args, ==, "[\"-u\",\"my server.py\"]");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (server, "env"),
                                                  "TOKEN"), ==, "${keyring:tok}");
  g_clear_pointer (&root, json_node_unref);

  /* Switched off: "disabled" in the file. */
  gtk_switch_set_active (GTK_SWITCH (find_labelled (GTK_WIDGET (page), GTK_TYPE_SWITCH,
                                                    "files")), FALSE);
  test_wait_until ((TestCondition) _rill_mcp_page_is_saved, page, WAIT_MS, "saved");
  servers = read_servers (f, &root);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (servers,
                                                                                "files"),
                                                 "disabled"));
  g_clear_pointer (&root, json_node_unref);

  /* Removed. */
  _rill_mcp_page_remove (page, "local");
  test_wait_until ((TestCondition) _rill_mcp_page_is_saved, page, WAIT_MS, "saved");
  servers = read_servers (f, &root);
  g_assert_false (json_object_has_member (servers, "local"));
  g_clear_pointer (&root, json_node_unref);

  /* Revoked. */
  revoke = find_labelled (GTK_WIDGET (page), GTK_TYPE_BUTTON, "Revoke read_file");
  g_signal_emit_by_name (revoke, "clicked");
  allowed = g_settings_get_value (f->settings, "always-allowed-tools");
  g_assert_cmpuint (g_variant_n_children (allowed), ==, 0);

  /* An invalid file is reported in words. */
  write_mcp (f, "{\"mcpServers\": [");
  wait_text (GTK_WIDGET (page), "is not valid JSON");
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = NULL;
  int status;

  /* Before GLib reads them once for the process. */
  home = test_make_tmpdir ();
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  if (g_getenv ("RILL_SHOTS_DARK") != NULL)
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                        ADW_COLOR_SCHEME_FORCE_DARK);

#define ADD(path, func) \
  g_test_add ("/tools/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("popover", test_popover);
  ADD ("no-servers", test_no_servers);
  ADD ("page", test_page);
#undef ADD
  status = g_test_run ();
  test_rm_rf (home);
  return status;
}
