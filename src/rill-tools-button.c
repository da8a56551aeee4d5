/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-tools-button.c: the Tools button by the composer.
 *
 * Design:
 *
 * - The choice shown is the current conversation's conversations.tools,
 *   or the "default-tools" setting while the conversation is not yet
 *   created. It is read again when either changes (another window may
 *   change it), and a switch flipped writes both at once: the conversation
 *   keeps what it was given, and the next new one starts from it.
 * - The popover has one section per server of mcp.json (the toolbox's
 *   clients, rebuilt on "servers-changed"): the server's switch, and under
 *   an offered server its tools, each with a switch. Listing the tools
 *   starts the server, so it is done only once the popover shows or the
 *   server is switched on; until then the section says "Starting…", and a
 *   server that fails says why in words. Nothing here waits.
 * - Reading the choice again sets the switches to it rather than building
 *   the popover again, so a switch being used keeps the focus; a switch's
 *   handler does nothing when the choice already says what it shows, which
 *   is what makes setting them safe.
 * - The button shows how many servers are offered: a number and the accent
 *   colour, bound to "n-offered". */

#include <glib/gi18n.h>

#include "rill-tools-button.h"

typedef struct _Section Section;

struct _RillToolsButton
{
  AdwBin          parent_instance;

  /* Template widgets */
  GtkMenuButton  *menu_button;
  GtkLabel       *count_label;
  GtkPopover     *popover;
  GtkStack       *stack;
  GtkBox         *servers_box;

  /* Owned */
  RillSession    *session;
  RillToolbox    *toolbox;
  GSignalGroup   *store_signals;
  GSignalGroup   *toolbox_signals;
  GSignalGroup   *settings_signals;
  GCancellable   *cancellable;
  RillToolChoice *choice;
  char           *tools;     /* the choice's JSON as last read or saved */
  GPtrArray      *sections;  /* Section, in the configuration's order */
  gint64          conversation_id;
  guint           n_offered;
  /* Writes of the choice not yet done: until they are, the stored value
   * may be an older one of ours, not news from elsewhere. */
  guint           saving;
};

G_DEFINE_FINAL_TYPE (RillToolsButton, rill_tools_button, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_CONVERSATION_ID,
  PROP_TOOLS,
  PROP_N_OFFERED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _Section
{
  RillToolsButton *self;    /* borrowed: the button owns its sections */
  RillMcpClient   *client;
  GtkWidget       *box;     /* in servers_box */
  GtkSwitch       *server_switch;
  GtkLabel        *subtitle;
  GtkBox          *tools_box;
  char            *error;   /* why the last listing failed, when not FAILED */
  char            *key;     /* what the tools area shows: see section_key */
  gulong           state_id;
  gulong           tools_id;
  gboolean         listing;
  gboolean         listed;
};

static void update_section (Section *section);

static void
section_free (Section *section)
{
  g_clear_signal_handler (&section->state_id, section->client);
  g_clear_signal_handler (&section->tools_id, section->client);
  g_clear_object (&section->client);
  g_free (section->error);
  g_free (section->key);
  g_free (section);
}

static const char *
section_name (Section *section)
{
  return rill_mcp_client_get_name (section->client);
}

static gboolean
server_switched_off (Section *section)
{
  return rill_mcp_client_get_server (section->client)->disabled;
}

/* Saving */

static void
update_count (RillToolsButton *self)
{
  guint n = 0;

  for (guint i = 0; i < self->sections->len; i++)
    {
      Section *section = self->sections->pdata[i];

      if (!server_switched_off (section)
          && rill_tool_choice_get_server_enabled (self->choice, section_name (section)))
        n++;
    }
  if (n == self->n_offered)
    return;
  self->n_offered = n;
  /* A class cannot be bound; the number and its visibility are. */
  if (n > 0)
    gtk_widget_add_css_class (GTK_WIDGET (self->menu_button), "accent");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->menu_button), "accent");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_OFFERED]);
}

static void
saved_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(RillToolsButton) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!rill_store_write_finish (RILL_STORE (object), result, &error))
    g_warning ("Could not save the tools of the conversation: %s", error->message);
  self->saving--;
}

static void
save_choice (RillToolsButton *self)
{
  g_autofree char *json = rill_tool_choice_to_json (self->choice);
  RillStore *store = self->session ? rill_session_get_store (self->session) : NULL;

  g_free (self->tools);
  self->tools = g_strdup (json);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOLS]);
  update_count (self);
  if (self->session == NULL)
    return;
  if (self->conversation_id != 0 && store != NULL)
    {
      self->saving++;
      rill_store_update_conversation_async (store, self->conversation_id,
                                            RILL_CONVERSATION_TOOLS, json, NULL, saved_cb,
                                            g_object_ref (self));
    }
  /* Last used is what a new conversation starts from. */
  g_settings_set_string (rill_session_get_settings (self->session), "default-tools",
                         json ? json : "");
}

/* Listing a server's tools */

static Section *
find_section (RillToolsButton *self,
              RillMcpClient   *client)
{
  for (guint i = 0; i < self->sections->len; i++)
    if (((Section *) self->sections->pdata[i])->client == client)
      return self->sections->pdata[i];
  return NULL;
}

static void
list_tools_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(RillToolsButton) self = user_data;
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(GError) error = NULL;
  Section *section;

  tools = rill_mcp_client_list_tools_finish (RILL_MCP_CLIENT (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* The server may have changed or gone meanwhile. */
  section = find_section (self, RILL_MCP_CLIENT (object));
  if (section == NULL)
    return;
  section->listing = FALSE;
  section->listed = tools != NULL;
  g_clear_pointer (&section->error, g_free);
  if (error != NULL)
    section->error = g_strdup (error->message);
  update_section (section);
}

/* Starts listing when the server is offered and its tools are not known:
 * only while the popover shows, since it starts the server. A server that
 * failed is tried again only when @retry (the popover opened, the server
 * switched on), not each time its section changes. */
static void
maybe_list (Section *section,
            gboolean retry)
{
  RillToolsButton *self = section->self;
  gboolean failed = section->error != NULL
                    || rill_mcp_client_get_state (section->client) == RILL_MCP_STATE_FAILED;

  if (section->listing || server_switched_off (section) || (failed && !retry)
      || !gtk_widget_get_visible (GTK_WIDGET (self->popover))
      || !rill_tool_choice_get_server_enabled (self->choice, section_name (section)))
    return;
  if (section->listed && rill_mcp_client_get_state (section->client) == RILL_MCP_STATE_READY)
    return;
  section->listing = TRUE;
  g_clear_pointer (&section->error, g_free);
  rill_mcp_client_list_tools_async (section->client, self->cancellable, list_tools_cb,
                                    g_object_ref (self));
}

/* A section */

static void
tool_switch_cb (GtkSwitch  *tool_switch,
                GParamSpec *pspec,
                Section    *section)
{
  const char *tool = g_object_get_data (G_OBJECT (tool_switch), "tool");
  gboolean active = gtk_switch_get_active (tool_switch);
  RillToolChoice *choice = section->self->choice;

  if (rill_tool_choice_get_tool_enabled (choice, section_name (section), tool) == active)
    return;
  rill_tool_choice_set_tool_enabled (choice, section_name (section), tool, active);
  save_choice (section->self);
}

static GtkWidget *
tool_row (Section     *section,
          RillMcpTool *tool)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *title = gtk_label_new (tool->title ? tool->title : tool->name);
  GtkWidget *tool_switch = gtk_switch_new ();

  gtk_widget_set_hexpand (labels, TRUE);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (title), PANGO_WRAP_WORD_CHAR);
  /* Narrow enough for a popover in a window 360 px wide. */
  gtk_label_set_max_width_chars (GTK_LABEL (title), 26);
  gtk_box_append (GTK_BOX (labels), title);
  if (tool->description != NULL && *tool->description != '\0')
    {
      GtkWidget *description = gtk_label_new (tool->description);

      /* One line here; the whole in the tooltip. */
      gtk_label_set_xalign (GTK_LABEL (description), 0);
      gtk_label_set_ellipsize (GTK_LABEL (description), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (description), 26);
      gtk_label_set_single_line_mode (GTK_LABEL (description), TRUE);
      gtk_widget_add_css_class (description, "caption");
      gtk_widget_add_css_class (description, "dim-label");
      gtk_widget_set_tooltip_text (labels, tool->description);
      gtk_box_append (GTK_BOX (labels), description);
    }
  gtk_box_append (GTK_BOX (row), labels);

  gtk_widget_set_valign (tool_switch, GTK_ALIGN_CENTER);
  gtk_switch_set_active (GTK_SWITCH (tool_switch),
                         rill_tool_choice_get_tool_enabled (section->self->choice,
                                                            section_name (section), tool->name));
  /* The tool's name as the server gives it: what a person reads in the
   * approval card and what a screen reader says. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (tool_switch),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, tool->name, -1);
  g_object_set_data_full (G_OBJECT (tool_switch), "tool", g_strdup (tool->name), g_free);
  g_signal_connect (tool_switch, "notify::active", G_CALLBACK (tool_switch_cb), section);
  gtk_box_append (GTK_BOX (row), tool_switch);
  g_object_set_data (G_OBJECT (row), "switch", tool_switch);
  return row;
}

static void
add_status (Section    *section,
            const char *text,
            gboolean    failure)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 30);
  gtk_widget_add_css_class (label, failure ? "error" : "dim-label");
  /* A failure may be long and is worth copying. */
  gtk_label_set_selectable (GTK_LABEL (label), failure);
  gtk_box_append (section->tools_box, label);
}

/* What the tools area shows, as text: when it is what it was, the rows
 * stay (a switch in use keeps the focus) and only their switches follow
 * the choice. */
static char *
section_key (Section *section)
{
  RillMcpState state = rill_mcp_client_get_state (section->client);
  GPtrArray *tools = rill_mcp_client_get_tools (section->client);
  GString *key = g_string_new (NULL);

  if (state == RILL_MCP_STATE_FAILED)
    g_string_append_printf (key, "failed\n%s", rill_mcp_client_get_failure (section->client));
  else if (section->error != NULL)
    g_string_append_printf (key, "failed\n%s", section->error);
  else if (tools->len > 0)
    for (guint i = 0; i < tools->len; i++)
      {
        RillMcpTool *tool = tools->pdata[i];

        g_string_append_printf (key, "tool\n%s\n%s\n%s\n", tool->name,
                                tool->title ? tool->title : "",
                                tool->description ? tool->description : "");
      }
  else if (section->listed)
    g_string_append (key, "none");
  else if (section->listing || state == RILL_MCP_STATE_STARTING)
    g_string_append (key, "starting");
  else
    g_string_append (key, "stopped");
  return g_string_free (key, FALSE);
}

static void
update_section (Section *section)
{
  RillToolsButton *self = section->self;
  gboolean offered = rill_tool_choice_get_server_enabled (self->choice, section_name (section));
  gboolean shown = offered && !server_switched_off (section);
  RillMcpState state = rill_mcp_client_get_state (section->client);
  GPtrArray *tools = rill_mcp_client_get_tools (section->client);
  g_autofree char *key = NULL;
  GtkWidget *child;

  gtk_switch_set_active (section->server_switch, offered);
  gtk_widget_set_sensitive (GTK_WIDGET (section->server_switch), !server_switched_off (section));
  gtk_widget_set_visible (GTK_WIDGET (section->subtitle), server_switched_off (section));
  gtk_widget_set_visible (GTK_WIDGET (section->tools_box), shown);
  if (!shown)
    return;

  maybe_list (section, FALSE);
  key = section_key (section);
  if (g_strcmp0 (key, section->key) == 0)
    {
      for (child = gtk_widget_get_first_child (GTK_WIDGET (section->tools_box)); child != NULL;
           child = gtk_widget_get_next_sibling (child))
        {
          GtkSwitch *tool_switch = g_object_get_data (G_OBJECT (child), "switch");

          if (tool_switch != NULL)
            gtk_switch_set_active (tool_switch, rill_tool_choice_get_tool_enabled (
                                     self->choice, section_name (section),
                                     g_object_get_data (G_OBJECT (tool_switch), "tool")));
        }
      return;
    }
  g_free (section->key);
  section->key = g_steal_pointer (&key);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (section->tools_box))) != NULL)
    gtk_box_remove (section->tools_box, child);
  if (state == RILL_MCP_STATE_FAILED)
    add_status (section, rill_mcp_client_get_failure (section->client), TRUE);
  else if (section->error != NULL)
    add_status (section, section->error, TRUE);
  else if (tools->len > 0)
    for (guint i = 0; i < tools->len; i++)
      gtk_box_append (section->tools_box, tool_row (section, tools->pdata[i]));
  else if (section->listed)
    add_status (section, _("This server offers no tools."), FALSE);
  else if (section->listing || state == RILL_MCP_STATE_STARTING)
    add_status (section, _("Starting…"), FALSE);
  else
    add_status (section, _("Its tools are listed when the server starts."), FALSE);
}

static void
server_switch_cb (GtkSwitch  *server_switch,
                  GParamSpec *pspec,
                  Section    *section)
{
  RillToolChoice *choice = section->self->choice;
  gboolean active = gtk_switch_get_active (server_switch);

  if (rill_tool_choice_get_server_enabled (choice, section_name (section)) == active)
    return;
  rill_tool_choice_set_server_enabled (choice, section_name (section), active);
  save_choice (section->self);
  if (active)
    maybe_list (section, TRUE);
  update_section (section);
}

static void
client_changed_cb (Section *section)
{
  update_section (section);
}

static Section *
section_new (RillToolsButton *self,
             RillMcpClient   *client)
{
  Section *section = g_new0 (Section, 1);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *name = gtk_label_new (rill_mcp_client_get_name (client));

  section->self = self;
  section->client = g_object_ref (client);
  section->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (section->box, "card");
  gtk_widget_add_css_class (section->box, "tool-server");

  gtk_widget_set_margin_start (header, 12);
  gtk_widget_set_margin_end (header, 12);
  gtk_widget_set_margin_top (header, 8);
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_wrap (GTK_LABEL (name), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (name), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (name), 24);
  gtk_widget_add_css_class (name, "heading");
  gtk_box_append (GTK_BOX (labels), name);
  section->subtitle = GTK_LABEL (gtk_label_new (_("Switched off in Preferences")));
  gtk_label_set_xalign (section->subtitle, 0);
  gtk_widget_add_css_class (GTK_WIDGET (section->subtitle), "caption");
  gtk_widget_add_css_class (GTK_WIDGET (section->subtitle), "dim-label");
  gtk_box_append (GTK_BOX (labels), GTK_WIDGET (section->subtitle));
  gtk_box_append (GTK_BOX (header), labels);

  section->server_switch = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (section->server_switch), GTK_ALIGN_CENTER);
  /* The server's name exactly as in mcp.json. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (section->server_switch),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, rill_mcp_client_get_name (client),
                                  -1);
  gtk_switch_set_active (section->server_switch,
                         rill_tool_choice_get_server_enabled (self->choice,
                                                              rill_mcp_client_get_name (client)));
  g_signal_connect (section->server_switch, "notify::active", G_CALLBACK (server_switch_cb),
                    section);
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (section->server_switch));
  gtk_box_append (GTK_BOX (section->box), header);

  section->tools_box = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 8));
  gtk_widget_set_margin_start (GTK_WIDGET (section->tools_box), 24);
  gtk_widget_set_margin_end (GTK_WIDGET (section->tools_box), 12);
  gtk_box_append (GTK_BOX (section->box), GTK_WIDGET (section->tools_box));
  /* The card's bottom padding, whether or not tools show. */
  gtk_widget_set_margin_bottom (GTK_WIDGET (section->box), 0);
  gtk_widget_set_margin_bottom (GTK_WIDGET (section->tools_box), 0);
  gtk_box_append (GTK_BOX (section->box), gtk_box_new (GTK_ORIENTATION_VERTICAL, 0));
  gtk_widget_set_margin_bottom (gtk_widget_get_last_child (section->box), 8);

  section->state_id = g_signal_connect_swapped (client, "notify::state",
                                                G_CALLBACK (client_changed_cb), section);
  section->tools_id = g_signal_connect_swapped (client, "tools-changed",
                                                G_CALLBACK (client_changed_cb), section);
  return section;
}

/* The servers */

static void
clear_sections (RillToolsButton *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->servers_box))) != NULL)
    gtk_box_remove (self->servers_box, child);
  g_ptr_array_set_size (self->sections, 0);
}

static void
servers_changed_cb (RillToolsButton *self)
{
  GPtrArray *clients = self->toolbox ? rill_toolbox_get_clients (self->toolbox) : NULL;

  clear_sections (self);
  for (guint i = 0; clients != NULL && i < clients->len; i++)
    {
      Section *section = section_new (self, clients->pdata[i]);

      g_ptr_array_add (self->sections, section);
      gtk_box_append (self->servers_box, section->box);
      update_section (section);
    }
  gtk_stack_set_visible_child_name (self->stack, self->sections->len > 0 ? "servers" : "empty");
  update_count (self);
}

/* The choice */

static void
set_tools (RillToolsButton *self,
           const char      *tools)
{
  if (g_strcmp0 (self->tools, tools) == 0 && self->choice != NULL)
    return;
  g_free (self->tools);
  self->tools = g_strdup (tools);
  g_clear_pointer (&self->choice, rill_tool_choice_free);
  self->choice = rill_tool_choice_new_from_json (tools);
  for (guint i = 0; i < self->sections->len; i++)
    update_section (self->sections->pdata[i]);
  update_count (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOLS]);
}

static void
reload_choice (RillToolsButton *self)
{
  RillStore *store = self->session ? rill_session_get_store (self->session) : NULL;
  g_autofree char *tools = NULL;

  if (self->conversation_id != 0 && store != NULL)
    {
      g_autoptr(RillConversation) conversation =
        rill_store_get_conversation (store, self->conversation_id, NULL);

      if (conversation != NULL)
        tools = g_strdup (rill_conversation_get_tools (conversation));
    }
  else if (self->conversation_id == 0 && self->session != NULL)
    {
      tools = g_settings_get_string (rill_session_get_settings (self->session), "default-tools");
      if (*tools == '\0')
        g_clear_pointer (&tools, g_free);
    }
  set_tools (self, tools);
}

static void
conversation_changed_cb (RillToolsButton *self,
                         gint64           conversation_id)
{
  if (conversation_id == self->conversation_id && self->saving == 0)
    reload_choice (self);
}

static void
default_tools_changed_cb (RillToolsButton *self)
{
  if (self->conversation_id == 0)
    reload_choice (self);
}

static void
store_changed_cb (RillToolsButton *self)
{
  g_signal_group_set_target (self->store_signals, rill_session_get_store (self->session));
  reload_choice (self);
}

static void
popover_show_cb (RillToolsButton *self)
{
  for (guint i = 0; i < self->sections->len; i++)
    {
      maybe_list (self->sections->pdata[i], TRUE);
      update_section (self->sections->pdata[i]);
    }
}

/* Public */

RillToolsButton *
rill_tools_button_new (void)
{
  return g_object_new (RILL_TYPE_TOOLS_BUTTON, NULL);
}

void
rill_tools_button_set_session (RillToolsButton *self,
                               RillSession     *session)
{
  g_return_if_fail (RILL_IS_TOOLS_BUTTON (self));
  g_return_if_fail (session == NULL || RILL_IS_SESSION (session));

  if (self->session == session)
    return;
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_func (self->session, store_changed_cb, self);
  g_set_object (&self->session, session);
  g_clear_object (&self->toolbox);
  if (session != NULL)
    {
      self->toolbox = g_object_ref (rill_session_get_toolbox (session));
      g_signal_connect_object (session, "notify::store", G_CALLBACK (store_changed_cb), self,
                               G_CONNECT_SWAPPED);
    }
  g_signal_group_set_target (self->toolbox_signals, self->toolbox);
  g_signal_group_set_target (self->settings_signals,
                             session ? rill_session_get_settings (session) : NULL);
  g_signal_group_set_target (self->store_signals,
                             session ? rill_session_get_store (session) : NULL);
  reload_choice (self);
  servers_changed_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

void
rill_tools_button_set_conversation_id (RillToolsButton *self,
                                       gint64           conversation_id)
{
  g_return_if_fail (RILL_IS_TOOLS_BUTTON (self));

  if (self->conversation_id == conversation_id)
    return;
  self->conversation_id = conversation_id;
  reload_choice (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONVERSATION_ID]);
}

gint64
rill_tools_button_get_conversation_id (RillToolsButton *self)
{
  g_return_val_if_fail (RILL_IS_TOOLS_BUTTON (self), 0);
  return self->conversation_id;
}

const char *
rill_tools_button_get_tools (RillToolsButton *self)
{
  g_return_val_if_fail (RILL_IS_TOOLS_BUTTON (self), NULL);
  return self->tools;
}

guint
rill_tools_button_get_n_offered (RillToolsButton *self)
{
  g_return_val_if_fail (RILL_IS_TOOLS_BUTTON (self), 0);
  return self->n_offered;
}

void
rill_tools_button_popup (RillToolsButton *self)
{
  g_return_if_fail (RILL_IS_TOOLS_BUTTON (self));
  gtk_menu_button_popup (self->menu_button);
}

void
rill_tools_button_popdown (RillToolsButton *self)
{
  g_return_if_fail (RILL_IS_TOOLS_BUTTON (self));
  gtk_menu_button_popdown (self->menu_button);
}

/* GObject */

static gboolean
count_to_label (GBinding     *binding,
                const GValue *from,
                GValue       *to,
                gpointer      data)
{
  g_value_take_string (to, g_strdup_printf ("%u", g_value_get_uint (from)));
  return TRUE;
}

static gboolean
count_to_visible (GBinding     *binding,
                  const GValue *from,
                  GValue       *to,
                  gpointer      data)
{
  g_value_set_boolean (to, g_value_get_uint (from) > 0);
  return TRUE;
}

static gboolean
count_to_description (GBinding     *binding,
                      const GValue *from,
                      GValue       *to,
                      gpointer      data)
{
  guint n = g_value_get_uint (from);

  if (n == 0)
    g_value_set_string (to, _("Tools"));
  else
    g_value_take_string (to, g_strdup_printf (ngettext ("Tools: %u server offered",
                                                        "Tools: %u servers offered", n), n));
  return TRUE;
}

static void
rill_tools_button_dispose (GObject *object)
{
  RillToolsButton *self = RILL_TOOLS_BUTTON (object);

  g_cancellable_cancel (self->cancellable);
  if (self->sections != NULL)
    clear_sections (self);
  /* No gtk_widget_dispose_template (): AdwBin unparents its child itself. */
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_func (self->session, store_changed_cb, self);
  g_clear_object (&self->session);
  g_clear_object (&self->toolbox);
  g_clear_object (&self->store_signals);
  g_clear_object (&self->toolbox_signals);
  g_clear_object (&self->settings_signals);
  G_OBJECT_CLASS (rill_tools_button_parent_class)->dispose (object);
}

static void
rill_tools_button_finalize (GObject *object)
{
  RillToolsButton *self = RILL_TOOLS_BUTTON (object);

  g_clear_pointer (&self->sections, g_ptr_array_unref);
  g_clear_pointer (&self->choice, rill_tool_choice_free);
  g_clear_pointer (&self->tools, g_free);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (rill_tools_button_parent_class)->finalize (object);
}

static void
rill_tools_button_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RillToolsButton *self = RILL_TOOLS_BUTTON (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_CONVERSATION_ID:
      g_value_set_int64 (value, self->conversation_id);
      break;
    case PROP_TOOLS:
      g_value_set_string (value, self->tools);
      break;
    case PROP_N_OFFERED:
      g_value_set_uint (value, self->n_offered);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_tools_button_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  RillToolsButton *self = RILL_TOOLS_BUTTON (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      rill_tools_button_set_session (self, g_value_get_object (value));
      break;
    case PROP_CONVERSATION_ID:
      rill_tools_button_set_conversation_id (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_tools_button_class_init (RillToolsButtonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags readable = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags writable = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = rill_tools_button_dispose;
  object_class->finalize = rill_tools_button_finalize;
  object_class->get_property = rill_tools_button_get_property;
  object_class->set_property = rill_tools_button_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION, writable);
  properties[PROP_CONVERSATION_ID] =
    g_param_spec_int64 ("conversation-id", NULL, NULL, 0, G_MAXINT64, 0, writable);
  properties[PROP_TOOLS] = g_param_spec_string ("tools", NULL, NULL, NULL, readable);
  properties[PROP_N_OFFERED] =
    g_param_spec_uint ("n-offered", NULL, NULL, 0, G_MAXUINT, 0, readable);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/rill/Rill/rill-tools-button.ui");
  gtk_widget_class_bind_template_child (widget_class, RillToolsButton, menu_button);
  gtk_widget_class_bind_template_child (widget_class, RillToolsButton, count_label);
  gtk_widget_class_bind_template_child (widget_class, RillToolsButton, popover);
  gtk_widget_class_bind_template_child (widget_class, RillToolsButton, stack);
  gtk_widget_class_bind_template_child (widget_class, RillToolsButton, servers_box);
  gtk_widget_class_bind_template_callback (widget_class, popover_show_cb);
}

static void
rill_tools_button_init (RillToolsButton *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->choice = rill_tool_choice_new_from_json (NULL);
  self->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_free);

  self->store_signals = g_signal_group_new (RILL_TYPE_STORE);
  g_signal_group_connect_swapped (self->store_signals, "conversation-changed",
                                  G_CALLBACK (conversation_changed_cb), self);
  self->toolbox_signals = g_signal_group_new (RILL_TYPE_TOOLBOX);
  g_signal_group_connect_swapped (self->toolbox_signals, "servers-changed",
                                  G_CALLBACK (servers_changed_cb), self);
  self->settings_signals = g_signal_group_new (G_TYPE_SETTINGS);
  g_signal_group_connect_swapped (self->settings_signals, "changed::default-tools",
                                  G_CALLBACK (default_tools_changed_cb), self);

  g_object_bind_property_full (self, "n-offered", self->count_label, "label",
                               G_BINDING_SYNC_CREATE, count_to_label, NULL, NULL, NULL);
  g_object_bind_property_full (self, "n-offered", self->count_label, "visible",
                               G_BINDING_SYNC_CREATE, count_to_visible, NULL, NULL, NULL);
  g_object_bind_property_full (self, "n-offered", self->menu_button, "tooltip-text",
                               G_BINDING_SYNC_CREATE, count_to_description, NULL, NULL, NULL);
}
