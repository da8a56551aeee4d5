/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-sidebar.c
 *
 * The list of conversations is a lazy model over the store (ten thousand
 * conversations open at once: only the rows on screen are read). Typing in
 * the list searches; search runs on the store's full-text index on the main
 * thread, which is short (see rill_store_search), and each result shows the
 * conversation's title and a snippet around the match.
 *
 * The Trash is a second page of the sidebar (RillTrashView), reached by the
 * "Trash" button below the list and left by its back button: a page rather
 * than a window, so it works the same when the sidebar is the whole
 * window (360 px) and keeps the conversation in view beside it otherwise. */

#include <glib/gi18n.h>

#include "rill-conversation-list.h"
#include "rill-sidebar-private.h"
#include "rill-snippet.h"
#include "rill-trash-view.h"
#include "rill-toast.h"

struct _RillSidebar
{
  GtkBox                parent_instance;

  /* Template widgets */
  GtkStack             *pages;
  RillTrashView        *trash_view;
  GtkWidget            *trash_button;
  GtkSearchEntry       *search_entry;
  GtkStack             *stack;
  GtkListView          *conversation_view;
  GtkListView          *results_view;
  AdwSplitButton       *new_button;
  GMenu                *presets_section;

  /* Owned */
  RillSession          *session;
  RillConversationList *conversations;
  GtkSingleSelection   *selection;
  GListStore           *results;
  GHashTable           *result_titles;     /* conversation id → title */

  gint64                conversation_id;
};

G_DEFINE_FINAL_TYPE (RillSidebar, rill_sidebar, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_CONVERSATION_ID,
  N_PROPS
};

enum {
  CONVERSATION_ACTIVATED,
  ADD_TOAST,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static RillStore *
get_store (RillSidebar *self)
{
  return self->session ? rill_session_get_store (self->session) : NULL;
}

static void
select_current (RillSidebar *self)
{
  int position = self->conversation_id != 0 && self->conversations != NULL
                 ? rill_conversation_list_find (self->conversations, self->conversation_id)
                 : -1;

  gtk_single_selection_set_selected (self->selection,
                                     position >= 0 ? (guint) position : GTK_INVALID_LIST_POSITION);
}

static void
update_page (RillSidebar *self)
{
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  if (query != NULL && *query != '\0')
    gtk_stack_set_visible_child_name (self->stack,
                                      g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0
                                      ? "results" : "no-results");
  else
    {
      gboolean any_conversations =
        self->conversations != NULL &&
        g_list_model_get_n_items (G_LIST_MODEL (self->conversations)) > 0;

      gtk_stack_set_visible_child_name (self->stack,
                                        any_conversations ? "conversations" : "no-conversations");
    }
}

/* The store says when a conversation was added, changed (titled, moved to
 * the top by a reply) or deleted, by this window or another. */
static void
reload (RillSidebar *self)
{
  if (self->conversations == NULL)
    return;
  rill_conversation_list_reload (self->conversations);
  select_current (self);
  update_page (self);
}

void
rill_sidebar_set_conversation_id (RillSidebar *self,
                                  gint64       conversation_id)
{
  g_return_if_fail (RILL_IS_SIDEBAR (self));

  if (self->conversation_id != conversation_id)
    {
      self->conversation_id = conversation_id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONVERSATION_ID]);
    }
  select_current (self);
}

void
rill_sidebar_hide_conversation (RillSidebar *self,
                                gint64       conversation_id)
{
  g_return_if_fail (RILL_IS_SIDEBAR (self));

  if (self->conversations != NULL)
    rill_conversation_list_hide (self->conversations, conversation_id);
}

void
rill_sidebar_unhide_conversation (RillSidebar *self)
{
  g_return_if_fail (RILL_IS_SIDEBAR (self));

  if (self->conversations != NULL)
    rill_conversation_list_unhide (self->conversations);
}

void
rill_sidebar_show_trash (RillSidebar *self,
                         gboolean     show)
{
  g_return_if_fail (RILL_IS_SIDEBAR (self));

  gtk_stack_set_visible_child_name (self->pages, show ? "trash" : "main");
  gtk_widget_grab_focus (show ? GTK_WIDGET (self->trash_view) : self->trash_button);
}

static void
show_trash_cb (RillSidebar *self)
{
  rill_sidebar_show_trash (self, TRUE);
}

static void
show_main_cb (RillSidebar *self)
{
  rill_sidebar_show_trash (self, FALSE);
}

static void
forward_toast_cb (RillSidebar *self,
                  AdwToast    *toast)
{
  g_signal_emit (self, signals[ADD_TOAST], 0, toast);
}

GListModel *
rill_sidebar_get_conversations (RillSidebar *self)
{
  g_return_val_if_fail (RILL_IS_SIDEBAR (self), NULL);
  return G_LIST_MODEL (self->conversations);
}

/* Conversations */

static void
conversation_setup_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
conversation_bind_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *item,
                      gpointer                  user_data)
{
  RillConversation *conversation = gtk_list_item_get_item (item);
  const char *title = conversation ? rill_conversation_get_title (conversation) : NULL;

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)),
                      title && *title ? title : _("New Conversation"));
}

static void
conversation_activate_cb (RillSidebar *self,
                          guint        position)
{
  g_autoptr(RillConversation) conversation = NULL;

  if (self->conversations == NULL)
    return;
  conversation = g_list_model_get_item (G_LIST_MODEL (self->conversations), position);
  if (conversation != NULL)
    g_signal_emit (self, signals[CONVERSATION_ACTIVATED], 0,
                   rill_conversation_get_id (conversation), (gint64) 0);
}

/* Search */

static const char *
result_title (RillSidebar *self,
              RillMessage *message)
{
  gint64 id = rill_message_get_conversation_id (message);
  const char *title = g_hash_table_lookup (self->result_titles, &id);

  if (title == NULL)
    {
      g_autoptr(RillConversation) conversation =
        rill_store_get_conversation (get_store (self), id, NULL);
      gint64 *key = g_new (gint64, 1);

      *key = id;
      title = conversation ? rill_conversation_get_title (conversation) : "";
      title = *title ? title : _("New Conversation");
      g_hash_table_insert (self->result_titles, key, g_strdup (title));
      title = g_hash_table_lookup (self->result_titles, &id);
    }
  return title;
}

static void
result_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *snippet = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (snippet), 0);
  gtk_label_set_ellipsize (GTK_LABEL (snippet), PANGO_ELLIPSIZE_END);
  gtk_label_set_lines (GTK_LABEL (snippet), 2);
  gtk_label_set_wrap (GTK_LABEL (snippet), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (snippet), PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (snippet, "dim-label");
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), snippet);
  gtk_list_item_set_child (item, box);
}

static void
result_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                RillSidebar              *self)
{
  RillMessage *message = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *title = gtk_widget_get_first_child (box);
  GtkWidget *snippet = gtk_widget_get_next_sibling (title);
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  gsize start, end;
  g_autofree char *text = rill_snippet_make (rill_message_get_content (message), query,
                                             &start, &end);
  g_autofree char *before = g_markup_escape_text (text, start);
  g_autofree char *match = g_markup_escape_text (text + start, end - start);
  g_autofree char *after = g_markup_escape_text (text + end, -1);
  g_autofree char *markup = NULL;

  /* Every piece is escaped, and the match is whole characters: the markup
   * is well formed whatever the server sent. */
  markup = start == end ? g_strconcat (before, after, NULL)
                        : g_strconcat (before, "<b>", match, "</b>", after, NULL);
  gtk_label_set_text (GTK_LABEL (title), result_title (self, message));
  gtk_label_set_markup (GTK_LABEL (snippet), markup);
}

static void
search_changed_cb (RillSidebar *self)
{
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  RillStore *store = get_store (self);
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GError) error = NULL;

  g_list_store_remove_all (self->results);
  g_hash_table_remove_all (self->result_titles);

  if (query != NULL && *query != '\0' && store != NULL)
    {
      found = rill_store_search (store, query, 200, &error);
      if (found == NULL)
        {
          g_autoptr(AdwToast) toast = rill_toast_new (error->message);

          g_signal_emit (self, signals[ADD_TOAST], 0, toast);
        }
      else
        g_list_store_splice (self->results, 0, 0, found->pdata, found->len);
    }
  update_page (self);
}

static void
stop_search_cb (RillSidebar *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  gtk_widget_activate_action (GTK_WIDGET (self), "win.focus-composer", NULL);
}

static void
result_activate_cb (RillSidebar *self,
                    guint        position)
{
  g_autoptr(RillMessage) message = g_list_model_get_item (G_LIST_MODEL (self->results), position);

  if (message != NULL)
    g_signal_emit (self, signals[CONVERSATION_ACTIVATED], 0,
                   rill_message_get_conversation_id (message), rill_message_get_id (message));
}

static void
search_activate_cb (RillSidebar *self)
{
  if (g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0)
    result_activate_cb (self, 0);
}

void
rill_sidebar_search (RillSidebar *self,
                     const char  *query)
{
  g_return_if_fail (RILL_IS_SIDEBAR (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), query ? query : "");
  /* Search now rather than after the entry's delay, so what is typed is
   * what the list shows. */
  search_changed_cb (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

void
rill_sidebar_focus_search (RillSidebar *self)
{
  g_return_if_fail (RILL_IS_SIDEBAR (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
  gtk_editable_select_region (GTK_EDITABLE (self->search_entry), 0, -1);
}

GListModel *
_rill_sidebar_get_results (RillSidebar *self)
{
  return G_LIST_MODEL (self->results);
}

GtkStack *
_rill_sidebar_get_stack (RillSidebar *self)
{
  return self->stack;
}

GtkListView *
_rill_sidebar_get_conversation_view (RillSidebar *self)
{
  return self->conversation_view;
}

GtkListView *
_rill_sidebar_get_results_view (RillSidebar *self)
{
  return self->results_view;
}

GtkSearchEntry *
_rill_sidebar_get_search_entry (RillSidebar *self)
{
  return self->search_entry;
}

RillTrashView *
_rill_sidebar_get_trash_view (RillSidebar *self)
{
  return self->trash_view;
}

GtkStack *
_rill_sidebar_get_pages (RillSidebar *self)
{
  return self->pages;
}

/* GObject */

/* The list over the session's store, which arrives after the window when
 * the history is slow to open or held by another program. */
static void
store_changed_cb (RillSidebar *self)
{
  RillStore *store = get_store (self);

  g_clear_object (&self->conversations);
  if (store != NULL)
    {
      self->conversations = rill_conversation_list_new (store);
      g_signal_connect_object (store, "conversation-added", G_CALLBACK (reload),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (store, "conversation-changed", G_CALLBACK (reload),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (store, "conversation-deleted", G_CALLBACK (reload),
                               self, G_CONNECT_SWAPPED);
    }
  g_object_set (self->trash_view, "store", store, NULL);
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->conversations));
  select_current (self);
  /* A search typed while the history was held finds now. */
  search_changed_cb (self);
}

/* The New Conversation button's menu: one item a preset, in their order. */
static void
update_presets_menu (RillSidebar *self)
{
  g_autoptr(GPtrArray) presets = self->session ? rill_session_dup_presets (self->session) : NULL;

  g_menu_remove_all (self->presets_section);
  for (guint i = 0; presets != NULL && i < presets->len; i++)
    {
      RillPreset *preset = presets->pdata[i];
      g_autoptr(GMenuItem) item = g_menu_item_new (preset->name, NULL);

      g_menu_item_set_action_and_target_value (item, "win.new-from-preset",
                                               g_variant_new_string (preset->name));
      g_menu_append_item (self->presets_section, item);
    }
  if (presets == NULL || presets->len == 0)
    /* No action: shown, but not something to choose. */
    g_menu_append (self->presets_section, _("No Presets Yet"), "sidebar.none");
}

/* AdwSplitButton 1.2 passes its own name to neither of its buttons: each
 * gets the words for what it does. */
static void
name_new_buttons (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_BUTTON (child) || GTK_IS_MENU_BUTTON (child))
        {
          /* Only the name: GTK 4.8 would add the inner button's to it. */
          gtk_accessible_reset_relation (GTK_ACCESSIBLE (child),
                                         GTK_ACCESSIBLE_RELATION_LABELLED_BY);
          gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                          gtk_widget_get_ancestor (child, GTK_TYPE_MENU_BUTTON)
                                          ? _("New conversation from a preset")
                                          : _("New conversation"), -1);
        }
      name_new_buttons (child);
    }
}

static void
set_session (RillSidebar *self,
             RillSession *session)
{
  if (self->session == session)
    return;
  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      g_signal_handlers_disconnect_by_data (rill_session_get_settings (self->session), self);
    }
  g_set_object (&self->session, session);
  if (session != NULL)
    {
      g_signal_connect_object (session, "notify::store", G_CALLBACK (store_changed_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (rill_session_get_settings (session), "changed::presets",
                               G_CALLBACK (update_presets_menu), self, G_CONNECT_SWAPPED);
    }
  update_presets_menu (self);
  store_changed_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

static void
rill_sidebar_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  RillSidebar *self = RILL_SIDEBAR (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_CONVERSATION_ID:
      g_value_set_int64 (value, self->conversation_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_sidebar_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  RillSidebar *self = RILL_SIDEBAR (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      set_session (self, g_value_get_object (value));
      break;
    case PROP_CONVERSATION_ID:
      rill_sidebar_set_conversation_id (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_sidebar_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), RILL_TYPE_SIDEBAR);

  G_OBJECT_CLASS (rill_sidebar_parent_class)->dispose (object);
}

static void
rill_sidebar_finalize (GObject *object)
{
  RillSidebar *self = RILL_SIDEBAR (object);

  g_clear_object (&self->selection);
  g_clear_object (&self->conversations);
  g_clear_object (&self->results);
  g_clear_pointer (&self->result_titles, g_hash_table_unref);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (rill_sidebar_parent_class)->finalize (object);
}

static void
rill_sidebar_class_init (RillSidebarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_sidebar_dispose;
  object_class->finalize = rill_sidebar_finalize;
  object_class->get_property = rill_sidebar_get_property;
  object_class->set_property = rill_sidebar_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CONVERSATION_ID] =
    g_param_spec_int64 ("conversation-id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CONVERSATION_ACTIVATED] =
    g_signal_new ("conversation-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_INT64);
  signals[ADD_TOAST] =
    g_signal_new ("add-toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, ADW_TYPE_TOAST);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/rill-sidebar.ui");
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, pages);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, trash_view);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, trash_button);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, search_entry);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, stack);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, conversation_view);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, results_view);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, new_button);
  gtk_widget_class_bind_template_child (widget_class, RillSidebar, presets_section);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, conversation_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, result_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, show_trash_cb);
  gtk_widget_class_bind_template_callback (widget_class, show_main_cb);
  gtk_widget_class_bind_template_callback (widget_class, forward_toast_cb);
}

static void
rill_sidebar_init (RillSidebar *self)
{
  g_autoptr(GtkListItemFactory) conversation_factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkListItemFactory) result_factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkNoSelection) results_selection = NULL;

  g_type_ensure (RILL_TYPE_TRASH_VIEW);
  gtk_widget_init_template (GTK_WIDGET (self));
  name_new_buttons (GTK_WIDGET (self->new_button));

  self->results = g_list_store_new (RILL_TYPE_MESSAGE);
  self->result_titles = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_list_view_set_model (self->conversation_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect (conversation_factory, "setup", G_CALLBACK (conversation_setup_cb), NULL);
  g_signal_connect (conversation_factory, "bind", G_CALLBACK (conversation_bind_cb), NULL);
  gtk_list_view_set_factory (self->conversation_view, conversation_factory);

  results_selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->results)));
  gtk_list_view_set_model (self->results_view, GTK_SELECTION_MODEL (results_selection));
  g_signal_connect (result_factory, "setup", G_CALLBACK (result_setup_cb), NULL);
  g_signal_connect_object (result_factory, "bind", G_CALLBACK (result_bind_cb), self, 0);
  gtk_list_view_set_factory (self->results_view, result_factory);

  /* Typing in the conversation list searches. */
  gtk_search_entry_set_key_capture_widget (self->search_entry,
                                           GTK_WIDGET (self->conversation_view));

  update_page (self);
}
