/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-page.c: the Preferences page of MCP tool servers.
 *
 * Design:
 *
 * - The page edits the configuration the session's toolbox follows, so an
 *   edit reaches the servers at once (the toolbox restarts a server whose
 *   settings changed), and every edit is written to mcp.json right away
 *   through RillMcpConfig, which keeps what Rill does not know.
 * - The rows follow the configuration's "changed": when the same servers
 *   are listed in the same order, the rows are updated where they are, so
 *   the switch just flipped keeps the focus; else they are made again.
 * - A file that cannot be read ("load-failed", or the page's own read when
 *   it opens) is said in words above the list; the servers read before
 *   stay listed.
 * - The editor is a subpage of the Preferences window (there is no dialog
 *   widget in libadwaita 1.2, and a subpage fits a narrow window): a name,
 *   then either a program (command, arguments as a shell would split them,
 *   and NAME=value lines of environment) or a URL with "Name: value" lines
 *   of headers. Which one shows is bound to the two toggle buttons.
 * - "Always Allowed Tools" lists the setting through the toolbox, made
 *   again on its "always-allowed-changed". */

#include <glib/gi18n.h>

#include "rill-accessible.h"
#include "rill-mcp-page-private.h"

struct _RillMcpPage
{
  AdwPreferencesPage  parent_instance;

  /* Template widgets */
  GtkLabel           *problem_label;
  GtkListBox         *servers_list;
  GtkLabel           *path_label;
  GtkListBox         *allowed_list;

  /* The editor, made when first opened; owned by the page */
  GtkWidget          *editor;
  AdwWindowTitle     *editor_title;
  AdwEntryRow        *name_row;
  GtkToggleButton    *program_toggle;
  GtkToggleButton    *url_toggle;
  AdwEntryRow        *command_row;
  AdwEntryRow        *args_row;
  GtkTextView        *env_view;
  AdwEntryRow        *url_row;
  GtkTextView        *headers_view;
  GtkLabel           *editor_problem;
  GtkButton          *save_button;
  char               *editing;  /* the server's name, or NULL for a new one */

  /* Owned */
  RillSession        *session;
  RillToolbox        *toolbox;
  RillMcpConfig      *config;
  GCancellable       *cancellable;
  GStrv               shown;    /* the names the rows show, in order */
  guint               saving;
};

G_DEFINE_FINAL_TYPE (RillMcpPage, rill_mcp_page, ADW_TYPE_PREFERENCES_PAGE)

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void open_editor (RillMcpPage *self,
                         const char  *name);

/* Words */

static void
show_problem (RillMcpPage *self,
              const char  *text)
{
  gtk_label_set_text (self->problem_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->problem_label), text != NULL);
}

/* A button whose only accessible name is @name (GTK 4.8 would add the
 * label's text to it). */
static void
name_button (GtkWidget  *button,
             const char *name)
{
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                  -1);
}

/* An argument as a shell would need it written, quoted only when needed. */
static char *
shell_word (const char *arg)
{
  if (*arg != '\0' && strpbrk (arg, " \t\n'\"\\$`*?[]{}()<>|&;#~") == NULL)
    return g_strdup (arg);
  return g_shell_quote (arg);
}

static char *
join_args (char **args)
{
  g_autoptr(GStrvBuilder) words = g_strv_builder_new ();
  g_auto(GStrv) joined = NULL;

  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    {
      g_autofree char *word = shell_word (args[i]);

      g_strv_builder_add (words, word);
    }
  joined = g_strv_builder_end (words);
  return g_strjoinv (" ", joined);
}

static char *
describe (RillMcpServer *server)
{
  g_autofree char *args = NULL;

  if (server->url != NULL)
    return g_strdup (server->url);
  args = join_args (server->args);
  return *args ? g_strdup_printf ("%s %s", server->command, args) : g_strdup (server->command);
}

/* Saving */

static void
saved_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(RillMcpPage) self = user_data;
  g_autoptr(GError) error = NULL;

  self->saving--;
  if (!rill_mcp_config_save_finish (RILL_MCP_CONFIG (object), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_problem (self, error->message);
}

static void
save (RillMcpPage *self)
{
  self->saving++;
  rill_mcp_config_save_async (self->config, self->cancellable, saved_cb, g_object_ref (self));
}

/* The servers */

static void
switch_cb (GtkSwitch   *server_switch,
           GParamSpec  *pspec,
           RillMcpPage *self)
{
  const char *name = g_object_get_data (G_OBJECT (server_switch), "server");
  RillMcpServer *server = rill_mcp_config_lookup (self->config, name);
  g_autoptr(RillMcpServer) changed = NULL;

  /* Also what setting the switch from the file looks like. */
  if (server == NULL || server->disabled == !gtk_switch_get_active (server_switch))
    return;
  changed = rill_mcp_server_copy_disabled (server, !gtk_switch_get_active (server_switch));
  rill_mcp_config_set_server (self->config, changed);
  save (self);
}

static void
edit_clicked_cb (GtkButton   *button,
                 RillMcpPage *self)
{
  open_editor (self, g_object_get_data (G_OBJECT (button), "server"));
}

static void
remove_clicked_cb (GtkButton   *button,
                   RillMcpPage *self)
{
  if (rill_mcp_config_remove_server (self->config, g_object_get_data (G_OBJECT (button),
                                                                      "server")))
    save (self);
}

static GtkWidget *
suffix_button (const char *icon,
               const char *tooltip,
               const char *accessible,
               const char *server)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_add_css_class (button, "flat");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible, -1);
  g_object_set_data_full (G_OBJECT (button), "server", g_strdup (server), g_free);
  return button;
}

static GtkWidget *
server_row (RillMcpPage   *self,
            RillMcpServer *server)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *server_switch = gtk_switch_new ();
  g_autofree char *description = describe (server);
  g_autofree char *edit_name = g_strdup_printf (_("Edit %s"), server->name);
  g_autofree char *remove_name = g_strdup_printf (_("Remove %s"), server->name);
  GtkWidget *edit = suffix_button ("document-edit-symbolic", _("Edit"), edit_name, server->name);
  GtkWidget *remove = suffix_button ("user-trash-symbolic", _("Remove"), remove_name,
                                     server->name);

  /* libadwaita 1.2 reads titles as markup; a name is plain text. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), server->name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), description);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);

  gtk_widget_set_valign (server_switch, GTK_ALIGN_CENTER);
  gtk_switch_set_active (GTK_SWITCH (server_switch), !server->disabled);
  gtk_accessible_update_property (GTK_ACCESSIBLE (server_switch), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  server->name, -1);
  g_object_set_data_full (G_OBJECT (server_switch), "server", g_strdup (server->name), g_free);
  g_signal_connect_object (server_switch, "notify::active", G_CALLBACK (switch_cb), self, 0);
  g_signal_connect_object (edit, "clicked", G_CALLBACK (edit_clicked_cb), self, 0);
  g_signal_connect_object (remove, "clicked", G_CALLBACK (remove_clicked_cb), self, 0);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), edit);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), server_switch);
  g_object_set_data (G_OBJECT (row), "switch", server_switch);
  g_object_set_data (G_OBJECT (row), "remove", remove);
  return row;
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static GtkWidget *
placeholder_row (const char *title,
                 const char *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_add_css_class (row, "dim-label");
  return row;
}

static void
config_changed_cb (RillMcpPage *self)
{
  GPtrArray *servers = rill_mcp_config_get_servers (self->config);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) names = NULL;
  GtkWidget *row;

  for (guint i = 0; i < servers->len; i++)
    g_strv_builder_add (builder, ((RillMcpServer *) servers->pdata[i])->name);
  names = g_strv_builder_end (builder);
  /* Read without error: what was wrong with the file is no more. */
  if (self->saving == 0)
    show_problem (self, NULL);

  if (self->shown != NULL && servers->len > 0
      && g_strv_equal ((const char * const *) names, (const char * const *) self->shown))
    {
      /* The same servers: only what they say changes. */
      row = gtk_widget_get_first_child (GTK_WIDGET (self->servers_list));
      for (guint i = 0; i < servers->len && row != NULL; i++,
           row = gtk_widget_get_next_sibling (row))
        {
          RillMcpServer *server = servers->pdata[i];
          g_autofree char *description = describe (server);

          adw_action_row_set_subtitle (ADW_ACTION_ROW (row), description);
          gtk_switch_set_active (g_object_get_data (G_OBJECT (row), "switch"), !server->disabled);
        }
      return;
    }

  g_strfreev (self->shown);
  self->shown = g_steal_pointer (&names);
  clear_list (self->servers_list);
  for (guint i = 0; i < servers->len; i++)
    gtk_list_box_append (self->servers_list, server_row (self, servers->pdata[i]));
  if (servers->len == 0)
    gtk_list_box_append (self->servers_list,
                         placeholder_row (_("No servers yet"),
                                          _("Add one with the + button, or copy an mcp.json "
                                            "from another app to the file below.")));
}

static void
load_failed_cb (RillMcpPage  *self,
                const GError *error)
{
  show_problem (self, error->message);
}

static void
loaded_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(RillMcpPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!rill_mcp_config_load_finish (RILL_MCP_CONFIG (object), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_problem (self, error->message);
}

/* Always allowed */

static void
revoke_clicked_cb (GtkButton   *button,
                   RillMcpPage *self)
{
  rill_toolbox_set_always_allowed (self->toolbox,
                                   g_object_get_data (G_OBJECT (button), "server"),
                                   g_object_get_data (G_OBJECT (button), "tool"), FALSE);
}

static void
allowed_changed_cb (RillMcpPage *self)
{
  g_autoptr(GVariant) value = NULL;
  GVariantIter iter;
  const char *server, *tool;

  clear_list (self->allowed_list);
  value = g_settings_get_value (rill_session_get_settings (self->session),
                                "always-allowed-tools");
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s)", &server, &tool))
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *revoke = gtk_button_new_with_mnemonic (_("_Revoke"));
      g_autofree char *revoke_name = g_strdup_printf (_("Revoke %s"), tool);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), tool);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), server);
      gtk_widget_set_valign (revoke, GTK_ALIGN_CENTER);
      name_button (revoke, revoke_name);
      g_object_set_data_full (G_OBJECT (revoke), "server", g_strdup (server), g_free);
      g_object_set_data_full (G_OBJECT (revoke), "tool", g_strdup (tool), g_free);
      g_signal_connect_object (revoke, "clicked", G_CALLBACK (revoke_clicked_cb), self, 0);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), revoke);
      gtk_list_box_append (self->allowed_list, row);
    }
  if (g_variant_n_children (value) == 0)
    gtk_list_box_append (self->allowed_list,
                         placeholder_row (_("None"),
                                          _("A tool allowed always when it asks to run is "
                                            "listed here.")));
}

/* The editor */

/* One pair a line, as the server holds them ("NAME=value", "Name: value"). */
static void
set_text_view (GtkTextView *view,
               char       **lines)
{
  g_autofree char *text = lines ? g_strjoinv ("\n", lines) : g_strdup ("");

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (view), text, -1);
}

static char *
text_view_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* The non-empty lines of @view, each checked to have @separator after a
 * non-empty name; NULL with @error set when one does not. */
static GStrv
read_lines (GtkTextView  *view,
            const char   *separator,
            GError      **error)
{
  g_autofree char *text = text_view_text (view);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);
      const char *at = strstr (line, separator);

      if (*line == '\0')
        continue;
      if (at == NULL || at == line)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       g_str_equal (separator, "=")
                       ? _("Each line of the environment is NAME=value: “%s” is not.")
                       : _("Each line of the headers is “Name: value”: “%s” is not."), line);
          return NULL;
        }
      g_strv_builder_add (builder, line);
    }
  return g_strv_builder_end (builder);
}

static RillMcpServer *
server_from_editor (RillMcpPage  *self,
                    GError      **error)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (
                                                                         self->name_row))));
  g_autofree char *command = NULL;
  g_autofree char *url = NULL;
  g_auto(GStrv) args = NULL;
  g_auto(GStrv) lines = NULL;
  RillMcpServer *old = self->editing ? rill_mcp_config_lookup (self->config, self->editing)
                                     : NULL;
  RillMcpServer *server;

  if (*name == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("A server needs a name."));
      return NULL;
    }
  if (g_strcmp0 (name, self->editing) != 0 && rill_mcp_config_lookup (self->config, name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("There is already a server named “%s”."), name);
      return NULL;
    }
  if (gtk_toggle_button_get_active (self->url_toggle))
    {
      url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->url_row))));
      if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("The URL must start with http:// or https://."));
          return NULL;
        }
      if (!(lines = read_lines (self->headers_view, ":", error)))
        return NULL;
      server = rill_mcp_server_new_http (name, url, (const char * const *) lines);
    }
  else
    {
      g_autofree char *args_text = g_strstrip (g_strdup (gtk_editable_get_text (
                                                           GTK_EDITABLE (self->args_row))));
      g_autoptr(GError) local_error = NULL;

      command = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->command_row))));
      if (*command == '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("A program server needs its command."));
          return NULL;
        }
      /* g_shell_parse_argv refuses an empty text: no arguments. */
      if (*args_text != '\0'
          && !g_shell_parse_argv (args_text, NULL, &args, &local_error))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("The arguments cannot be read: %s"), local_error->message);
          return NULL;
        }
      if (!(lines = read_lines (self->env_view, "=", error)))
        return NULL;
      server = rill_mcp_server_new_stdio (name, command, (const char * const *) args,
                                          (const char * const *) lines);
    }
  /* Editing keeps the switch as it was. */
  if (old != NULL && old->disabled)
    {
      RillMcpServer *disabled = rill_mcp_server_copy_disabled (server, TRUE);

      rill_mcp_server_unref (server);
      server = disabled;
    }
  return server;
}

static void
close_editor (RillMcpPage *self)
{
  GtkWidget *window = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_PREFERENCES_WINDOW);

  if (window != NULL)
    adw_preferences_window_close_subpage (ADW_PREFERENCES_WINDOW (window));
}

static void
save_editor_cb (RillMcpPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillMcpServer) server = server_from_editor (self, &error);

  if (server == NULL)
    {
      gtk_label_set_text (self->editor_problem, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->editor_problem), TRUE);
      return;
    }
  /* Renamed: the old name goes (and what Rill did not know with it). */
  if (self->editing != NULL && g_strcmp0 (self->editing, server->name) != 0)
    rill_mcp_config_remove_server (self->config, self->editing);
  rill_mcp_config_set_server (self->config, server);
  save (self);
  close_editor (self);
}

static GtkWidget *
text_group (const char   *title,
            const char   *description,
            GtkTextView **view)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *frame = gtk_frame_new (NULL);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), description);
  *view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_monospace (*view, TRUE);
  gtk_text_view_set_wrap_mode (*view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_top_margin (*view, 8);
  gtk_text_view_set_bottom_margin (*view, 8);
  gtk_text_view_set_left_margin (*view, 8);
  gtk_text_view_set_right_margin (*view, 8);
  gtk_widget_set_size_request (GTK_WIDGET (*view), -1, 72);
  gtk_accessible_update_property (GTK_ACCESSIBLE (*view), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  -1);
  gtk_frame_set_child (GTK_FRAME (frame), GTK_WIDGET (*view));
  gtk_widget_add_css_class (frame, "view");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), frame);
  return group;
}

static AdwEntryRow *
entry_row (GtkWidget  *group,
           const char *title)
{
  GtkWidget *row = adw_entry_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  return ADW_ENTRY_ROW (row);
}

static void
build_editor (RillMcpPage *self)
{
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 24);
  GtkWidget *name_group = adw_preferences_group_new ();
  GtkWidget *kind = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *program_group = adw_preferences_group_new ();
  GtkWidget *url_group = adw_preferences_group_new ();
  GtkWidget *env_group, *headers_group;

  self->editor = g_object_ref_sink (gtk_box_new (GTK_ORIENTATION_VERTICAL, 0));
  self->editor_title = ADW_WINDOW_TITLE (adw_window_title_new (_("Add Server"), NULL));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), GTK_WIDGET (self->editor_title));
  adw_header_bar_set_show_start_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (header), FALSE);
  g_signal_connect_object (cancel, "clicked", G_CALLBACK (close_editor), self,
                           G_CONNECT_SWAPPED);
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), cancel);
  self->save_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Save")));
  gtk_widget_add_css_class (GTK_WIDGET (self->save_button), "suggested-action");
  g_signal_connect_object (self->save_button, "clicked", G_CALLBACK (save_editor_cb), self,
                           G_CONNECT_SWAPPED);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), GTK_WIDGET (self->save_button));
  gtk_box_append (GTK_BOX (self->editor), header);

  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), clamp);
  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 24);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_box_append (GTK_BOX (self->editor), scrolled);

  self->editor_problem = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->editor_problem, TRUE);
  gtk_label_set_xalign (self->editor_problem, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->editor_problem), "error");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->editor_problem));

  self->name_row = entry_row (name_group, _("Name"));
  gtk_box_append (GTK_BOX (box), name_group);

  /* Either a program or a URL: the toggles are a group, and each shows
   * its fields through a binding. */
  gtk_widget_add_css_class (kind, "linked");
  gtk_widget_set_halign (kind, GTK_ALIGN_CENTER);
  self->program_toggle = GTK_TOGGLE_BUTTON (gtk_toggle_button_new_with_mnemonic (_("_Program")));
  self->url_toggle = GTK_TOGGLE_BUTTON (gtk_toggle_button_new_with_mnemonic (_("_URL")));
  gtk_toggle_button_set_group (self->url_toggle, self->program_toggle);
  gtk_toggle_button_set_active (self->program_toggle, TRUE);
  gtk_box_append (GTK_BOX (kind), GTK_WIDGET (self->program_toggle));
  gtk_box_append (GTK_BOX (kind), GTK_WIDGET (self->url_toggle));
  gtk_box_append (GTK_BOX (box), kind);

  self->command_row = entry_row (program_group, _("Command"));
  self->args_row = entry_row (program_group, _("Arguments"));
  gtk_box_append (GTK_BOX (box), program_group);
  env_group = text_group (_("Environment"), _("One NAME=value a line."), &self->env_view);
  gtk_box_append (GTK_BOX (box), env_group);

  self->url_row = entry_row (url_group, _("URL"));
  gtk_box_append (GTK_BOX (box), url_group);
  headers_group = text_group (_("Headers"), _("One “Name: value” a line, sent with every "
                                              "request."), &self->headers_view);
  gtk_box_append (GTK_BOX (box), headers_group);

  g_object_bind_property (self->program_toggle, "active", program_group, "visible",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->program_toggle, "active", env_group, "visible",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->url_toggle, "active", url_group, "visible",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->url_toggle, "active", headers_group, "visible",
                          G_BINDING_SYNC_CREATE);
  rill_accessible_name_buttons (self->editor);
}

static void
open_editor (RillMcpPage *self,
             const char  *name)
{
  RillMcpServer *server = name ? rill_mcp_config_lookup (self->config, name) : NULL;
  GtkWidget *window = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_PREFERENCES_WINDOW);
  g_autofree char *args = NULL;

  if (self->editor == NULL)
    build_editor (self);
  g_free (self->editing);
  self->editing = server ? g_strdup (server->name) : NULL;
  adw_window_title_set_title (self->editor_title, server ? _("Edit Server") : _("Add Server"));
  gtk_widget_set_visible (GTK_WIDGET (self->editor_problem), FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), server ? server->name : "");
  gtk_toggle_button_set_active (server && server->url ? self->url_toggle : self->program_toggle,
                                TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->command_row),
                         server && server->command ? server->command : "");
  args = server ? join_args (server->args) : g_strdup ("");
  gtk_editable_set_text (GTK_EDITABLE (self->args_row), args);
  set_text_view (self->env_view, server ? server->env : NULL);
  gtk_editable_set_text (GTK_EDITABLE (self->url_row), server && server->url ? server->url : "");
  set_text_view (self->headers_view, server ? server->headers : NULL);
  if (window != NULL)
    adw_preferences_window_present_subpage (ADW_PREFERENCES_WINDOW (window), self->editor);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
}

static void
add_clicked_cb (RillMcpPage *self)
{
  open_editor (self, NULL);
}

/* For the tests */

void
_rill_mcp_page_edit (RillMcpPage *self,
                     const char  *name)
{
  open_editor (self, name);
}

void
_rill_mcp_page_fill (RillMcpPage *self,
                     const char  *name,
                     const char  *command,
                     const char  *args,
                     const char  *env,
                     const char  *url,
                     const char  *headers)
{
  if (name != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->name_row), name);
  gtk_toggle_button_set_active (url ? self->url_toggle : self->program_toggle, TRUE);
  if (command != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->command_row), command);
  if (args != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->args_row), args);
  if (env != NULL)
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->env_view), env, -1);
  if (url != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->url_row), url);
  if (headers != NULL)
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->headers_view), headers, -1);
}

GtkWidget *
_rill_mcp_page_get_dialog (RillMcpPage *self)
{
  return self->editor;
}

void
_rill_mcp_page_save_dialog (RillMcpPage *self)
{
  g_signal_emit_by_name (self->save_button, "clicked");
}

void
_rill_mcp_page_remove (RillMcpPage *self,
                       const char  *name)
{
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->servers_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row)
        && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), name) == 0)
      {
        g_signal_emit_by_name (g_object_get_data (G_OBJECT (row), "remove"), "clicked");
        return;
      }
  g_assert_not_reached ();
}

gboolean
_rill_mcp_page_is_saved (RillMcpPage *self)
{
  return self->saving == 0;
}

/* GObject */

static void
rill_mcp_page_constructed (GObject *object)
{
  RillMcpPage *self = RILL_MCP_PAGE (object);
  g_autofree char *where = NULL;

  G_OBJECT_CLASS (rill_mcp_page_parent_class)->constructed (object);

  g_assert (RILL_IS_SESSION (self->session));
  self->toolbox = g_object_ref (rill_session_get_toolbox (self->session));
  self->config = g_object_ref (rill_toolbox_get_config (self->toolbox));
  where = g_strdup_printf (_("Read from and saved to %s"), rill_mcp_config_get_path (self->config));
  gtk_label_set_text (self->path_label, where);

  g_signal_connect_object (self->config, "changed", G_CALLBACK (config_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->config, "load-failed", G_CALLBACK (load_failed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->toolbox, "always-allowed-changed",
                           G_CALLBACK (allowed_changed_cb), self, G_CONNECT_SWAPPED);
  config_changed_cb (self);
  allowed_changed_cb (self);
  /* Read the file again: what is wrong with it now is said at once. */
  rill_mcp_config_load_async (self->config, self->cancellable, loaded_cb, g_object_ref (self));
}

static void
rill_mcp_page_dispose (GObject *object)
{
  RillMcpPage *self = RILL_MCP_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RILL_TYPE_MCP_PAGE);
  g_clear_object (&self->editor);
  g_clear_object (&self->config);
  g_clear_object (&self->toolbox);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (rill_mcp_page_parent_class)->dispose (object);
}

static void
rill_mcp_page_finalize (GObject *object)
{
  RillMcpPage *self = RILL_MCP_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->shown, g_strfreev);
  g_free (self->editing);
  G_OBJECT_CLASS (rill_mcp_page_parent_class)->finalize (object);
}

static void
rill_mcp_page_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, RILL_MCP_PAGE (object)->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_mcp_page_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_SESSION:
      RILL_MCP_PAGE (object)->session = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_mcp_page_class_init (RillMcpPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = rill_mcp_page_constructed;
  object_class->dispose = rill_mcp_page_dispose;
  object_class->finalize = rill_mcp_page_finalize;
  object_class->get_property = rill_mcp_page_get_property;
  object_class->set_property = rill_mcp_page_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/rill/Rill/rill-mcp-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RillMcpPage, problem_label);
  gtk_widget_class_bind_template_child (widget_class, RillMcpPage, servers_list);
  gtk_widget_class_bind_template_child (widget_class, RillMcpPage, path_label);
  gtk_widget_class_bind_template_child (widget_class, RillMcpPage, allowed_list);
  gtk_widget_class_bind_template_callback (widget_class, add_clicked_cb);
}

static void
rill_mcp_page_init (RillMcpPage *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

RillMcpPage *
rill_mcp_page_new (RillSession *session)
{
  g_return_val_if_fail (RILL_IS_SESSION (session), NULL);
  return g_object_new (RILL_TYPE_MCP_PAGE, "session", session, NULL);
}
