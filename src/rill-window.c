/* rill-window.c
 *
 * One conversation at a time, one streaming reply at a time. Opening a
 * conversation reads its rows from the store (a short read on the main
 * thread); everything else the store does is queued to its writer, so the
 * window never waits on SQLite while a reply streams. A reply keeps going
 * when the person looks at another conversation: its row stays alive and is
 * put back when they come back. */

#include <glib/gi18n.h>

#include "rill-markdown.h"
#include "rill-window-private.h"

G_DEFINE_FINAL_TYPE (RillWindow, rill_window, ADW_TYPE_APPLICATION_WINDOW)

static void start_reply (RillWindow *self, const char *user_text);

static RillApplication *
get_app (RillWindow *self)
{
  return RILL_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
}

static RillProvider *
get_provider (RillWindow *self)
{
  RillApplication *app = get_app (self);

  return app ? rill_application_get_provider (app) : NULL;
}

void
_rill_window_toast (RillWindow *self,
                    const char *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

/* One banner, replaced by the newest problem: a burst of failures never
 * turns into a pile of dialogs. */
void
_rill_window_show_banner (RillWindow *self,
                          const char *text)
{
  gtk_label_set_text (self->banner_label, text);
  gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
  _rill_window_update_actions (self);
}

char *
_rill_window_dup_composer_text (RillWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->composer_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static gboolean
reply_is_here (RillWindow *self)
{
  return self->reply != NULL &&
         rill_reply_get_conversation_id (self->reply) == self->conversation_id;
}

static void
update_send_button (RillWindow *self)
{
  if (reply_is_here (self))
    {
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->send_button), "win.stop");
      gtk_button_set_icon_name (self->send_button, "media-playback-stop-symbolic");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->send_button), _("Stop"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->send_button), "suggested-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->send_button), "destructive-action");
    }
  else
    {
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->send_button), "win.send");
      gtk_button_set_icon_name (self->send_button, "go-up-symbolic");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->send_button), _("Send"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->send_button), "destructive-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->send_button), "suggested-action");
    }
}

RillMessageRow *
_rill_window_get_last_row (RillWindow *self,
                           RillRole    role)
{
  for (GtkWidget *child = gtk_widget_get_last_child (GTK_WIDGET (self->messages_box));
       child != NULL;
       child = gtk_widget_get_prev_sibling (child))
    if (RILL_IS_MESSAGE_ROW (child) &&
        rill_message_row_get_role (RILL_MESSAGE_ROW (child)) == role)
      return RILL_MESSAGE_ROW (child);
  return NULL;
}

static void
update_last_flags (RillWindow *self)
{
  GtkWidget *last = gtk_widget_get_last_child (GTK_WIDGET (self->messages_box));

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (RILL_IS_MESSAGE_ROW (child))
      rill_message_row_set_is_last (RILL_MESSAGE_ROW (child), child == last);
}

static void
update_welcome (RillWindow *self)
{
  RillApplication *app = get_app (self);
  const char *status = app ? rill_application_get_provider_status (app) : NULL;
  const GError *store_error = app ? rill_application_get_store_error (app) : NULL;
  g_autofree char *description = NULL;

  if (store_error != NULL)
    description = g_strdup_printf (_("The history could not be opened: %s"), store_error->message);
  else
    description = g_strdup (status);
  adw_status_page_set_description (self->welcome_page, description);
  gtk_widget_set_visible (GTK_WIDGET (self->add_server_button),
                          app != NULL && rill_application_get_provider (app) == NULL);
}

static void
update_content_page (RillWindow *self)
{
  gboolean empty = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box)) == NULL;

  gtk_stack_set_visible_child_name (self->content_stack, empty ? "welcome" : "messages");
}

/* Scrolling: follow the end unless the person scrolled up */

static void
follow_end (RillWindow *self)
{
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->messages_scroller);

  if (self->follow_end)
    gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj));
}

static void
adjustment_changed_cb (RillWindow    *self,
                       GParamSpec    *pspec,
                       GtkAdjustment *adj)
{
  follow_end (self);
}

static void
adjustment_value_changed_cb (RillWindow    *self,
                             GtkAdjustment *adj)
{
  double bottom = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);

  /* Only a move away from the end (the person scrolling up) stops following;
   * text arriving moves the end, which is handled in adjustment_changed_cb. */
  self->follow_end = gtk_adjustment_get_value (adj) >= bottom - 48;
}

static RillMessageRow *
find_row (RillWindow *self,
          gint64      message_id)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (RILL_IS_MESSAGE_ROW (child) &&
        rill_message_row_get_message_id (RILL_MESSAGE_ROW (child)) == message_id)
      return RILL_MESSAGE_ROW (child);
  return NULL;
}

static gboolean
scroll_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  RillWindow *self = RILL_WINDOW (widget);
  RillMessageRow *row = find_row (self, self->scroll_to_message_id);
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->messages_scroller);
  graphene_point_t point;

  if (row != NULL &&
      gtk_widget_compute_point (GTK_WIDGET (row), GTK_WIDGET (self->messages_box),
                                &GRAPHENE_POINT_INIT (0, 0), &point))
    {
      GtkWidget *clamp = gtk_widget_get_parent (GTK_WIDGET (self->messages_box));
      graphene_point_t in_clamp;

      if (gtk_widget_compute_point (GTK_WIDGET (row), clamp, &GRAPHENE_POINT_INIT (0, 0), &in_clamp))
        point = in_clamp;
      self->follow_end = FALSE;
      gtk_adjustment_set_value (adj, MAX (0, point.y - 12));
    }

  /* Labels above settle their wrapped height over a few frames. */
  if (++self->scroll_frames < 4)
    return G_SOURCE_CONTINUE;

  if (row != NULL)
    gtk_widget_remove_css_class (GTK_WIDGET (row), "found");
  self->scroll_tick_id = 0;
  return G_SOURCE_REMOVE;
}

static void
scroll_to_message (RillWindow *self,
                   gint64      message_id)
{
  RillMessageRow *row = find_row (self, message_id);

  if (row == NULL)
    return;
  gtk_widget_add_css_class (GTK_WIDGET (row), "found");
  self->scroll_to_message_id = message_id;
  self->scroll_frames = 0;
  self->follow_end = FALSE;
  if (self->scroll_tick_id == 0)
    self->scroll_tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), scroll_tick_cb, NULL, NULL);
}

/* Sidebar */

static void
select_current (RillWindow *self)
{
  int position = self->conversation_id != 0
                 ? rill_conversation_list_find (self->conversations, self->conversation_id)
                 : -1;

  self->selecting = TRUE;
  gtk_single_selection_set_selected (self->conversation_selection,
                                     position >= 0 ? (guint) position : GTK_INVALID_LIST_POSITION);
  self->selecting = FALSE;
}

static void
update_sidebar_page (RillWindow *self)
{
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  if (query != NULL && *query != '\0')
    gtk_stack_set_visible_child_name (self->sidebar_stack,
                                      g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0
                                      ? "results" : "no-results");
  else
    gtk_stack_set_visible_child_name (self->sidebar_stack,
                                      g_list_model_get_n_items (G_LIST_MODEL (self->conversations)) > 0
                                      ? "conversations" : "no-conversations");
}

void
_rill_window_reload_sidebar (RillWindow *self)
{
  if (self->conversations == NULL)
    return;
  rill_conversation_list_reload (self->conversations);
  select_current (self);
  update_sidebar_page (self);
}

static void
update_title (RillWindow *self)
{
  g_autoptr(RillConversation) conversation = NULL;
  const char *title = NULL;

  if (self->conversation_id != 0 && self->store != NULL)
    conversation = rill_store_get_conversation (self->store, self->conversation_id, NULL);
  if (conversation != NULL)
    title = rill_conversation_get_title (conversation);
  adw_window_title_set_title (self->window_title,
                              title && *title ? title : _("New Conversation"));
}

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
conversation_activate_cb (RillWindow *self,
                          guint       position)
{
  g_autoptr(RillConversation) conversation = g_list_model_get_item (G_LIST_MODEL (self->conversations), position);

  if (conversation == NULL)
    return;
  rill_window_open_conversation (self, rill_conversation_get_id (conversation), 0);
  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

/* Search */

static const char *
result_title (RillWindow  *self,
              RillMessage *message)
{
  gint64 id = rill_message_get_conversation_id (message);
  const char *title = g_hash_table_lookup (self->result_titles, &id);

  if (title == NULL)
    {
      g_autoptr(RillConversation) conversation = rill_store_get_conversation (self->store, id, NULL);
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

/* The words of a message on one line: no Markdown, one space for any run of
 * spaces and line breaks. */
static char *
snippet_text (const char *content)
{
  g_autofree char *plain = rill_markdown_to_plain (content, -1);
  GString *out = g_string_sized_new (strlen (plain));

  for (const char *p = plain; *p; p++)
    if (g_ascii_isspace (*p))
      {
        if (out->len > 0 && out->str[out->len - 1] != ' ')
          g_string_append_c (out, ' ');
      }
    else
      g_string_append_c (out, *p);
  return g_string_free (out, FALSE);
}

/* A piece of the message around the first match, with the match in bold. */
static char *
make_snippet (const char *markdown,
              const char *query)
{
  g_autofree char *content = snippet_text (markdown);
  const char *match = NULL;
  const char *start;
  GString *out = g_string_new (NULL);
  g_autofree char *before = NULL;
  g_autofree char *found = NULL;
  g_autofree char *after = NULL;
  gsize qlen = strlen (query);

  if (qlen > 0)
    {
      g_autofree char *lower_content = g_utf8_strdown (content, -1);
      g_autofree char *lower_query = g_utf8_strdown (query, -1);
      const char *hit = strlen (lower_content) == strlen (content) ? strstr (lower_content, lower_query) : NULL;

      if (hit != NULL && strlen (lower_query) == qlen)
        match = content + (hit - lower_content);
    }

  if (match == NULL)
    {
      g_autofree char *head = g_utf8_substring (content, 0, MIN (g_utf8_strlen (content, -1), 120));
      g_autofree char *escaped = g_markup_escape_text (head, -1);

      g_string_append (out, escaped);
    }
  else
    {
      glong offset = g_utf8_pointer_to_offset (content, match);

      start = g_utf8_offset_to_pointer (content, MAX (0, offset - 30));
      before = g_markup_escape_text (start, match - start);
      found = g_markup_escape_text (match, qlen);
      after = g_markup_escape_text (match + qlen, MIN (strlen (match + qlen), 240));
      if (start != content)
        g_string_append (out, "…");
      g_string_append_printf (out, "%s<b>%s</b>%s", before, found, after);
    }

  g_strdelimit (out->str, "\n\r\t", ' ');
  return g_string_free (out, FALSE);
}

static void
result_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                RillWindow               *self)
{
  RillMessage *message = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *title = gtk_widget_get_first_child (box);
  GtkWidget *snippet = gtk_widget_get_next_sibling (title);
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autofree char *markup = make_snippet (rill_message_get_content (message), query);

  gtk_label_set_text (GTK_LABEL (title), result_title (self, message));
  /* A cut inside a character or an entity can't happen (both come from the
   * escaper), but the content is the server's: check before showing. */
  if (pango_parse_markup (markup, -1, 0, NULL, NULL, NULL, NULL))
    gtk_label_set_markup (GTK_LABEL (snippet), markup);
  else
    gtk_label_set_text (GTK_LABEL (snippet), rill_message_get_content (message));
}

static void
search_changed_cb (RillWindow *self)
{
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GError) error = NULL;

  g_list_store_remove_all (self->results);
  g_hash_table_remove_all (self->result_titles);

  if (query != NULL && *query != '\0' && self->store != NULL)
    {
      found = rill_store_search (self->store, query, 200, &error);
      if (found == NULL)
        _rill_window_toast (self, error->message);
      else
        g_list_store_splice (self->results, 0, 0, found->pdata, found->len);
    }
  update_sidebar_page (self);
}

static void
stop_search_cb (RillWindow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));
}

static void
result_activate_cb (RillWindow *self,
                    guint       position)
{
  g_autoptr(RillMessage) message = g_list_model_get_item (G_LIST_MODEL (self->results), position);

  if (message == NULL)
    return;
  rill_window_open_conversation (self, rill_message_get_conversation_id (message),
                                 rill_message_get_id (message));
  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

static void
search_activate_cb (RillWindow *self)
{
  if (g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0)
    result_activate_cb (self, 0);
}

void
rill_window_search (RillWindow *self,
                    const char *query)
{
  g_return_if_fail (RILL_IS_WINDOW (self));

  adw_flap_set_reveal_flap (self->flap, TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), query ? query : "");
  /* Search now rather than after the entry's delay, so what is typed is
   * what the list shows. */
  search_changed_cb (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* Models */

static void
select_model (RillWindow *self,
              const char *model)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->models));
  guint position = GTK_INVALID_LIST_POSITION;

  self->updating_models = TRUE;
  if (model != NULL && *model != '\0')
    {
      for (guint i = 0; i < n; i++)
        if (g_strcmp0 (gtk_string_list_get_string (self->models, i), model) == 0)
          position = i;
      if (position == GTK_INVALID_LIST_POSITION)
        {
          /* Remembered but not listed (yet, or offline): still shown. */
          gtk_string_list_append (self->models, model);
          position = n;
        }
    }
  else if (n > 0)
    position = 0;
  gtk_drop_down_set_selected (self->model_dropdown, position);
  gtk_widget_set_visible (GTK_WIDGET (self->model_dropdown),
                          g_list_model_get_n_items (G_LIST_MODEL (self->models)) > 0);
  self->updating_models = FALSE;
}

static char *
wanted_model (RillWindow *self)
{
  g_autoptr(RillConversation) conversation = NULL;
  const char *model = NULL;

  if (self->conversation_id != 0 && self->store != NULL)
    conversation = rill_store_get_conversation (self->store, self->conversation_id, NULL);
  if (conversation != NULL)
    model = rill_conversation_get_model (conversation);
  if (model == NULL || *model == '\0')
    model = self->pending_model;
  if (model != NULL && *model != '\0')
    return g_strdup (model);
  return g_settings_get_string (self->settings, "default-model");
}

static void
list_models_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(RillWindow) self = user_data;
  g_auto(GStrv) models = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *model = NULL;

  models = rill_provider_list_models_finish (RILL_PROVIDER (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    g_debug ("Could not list models: %s", error->message);

  self->updating_models = TRUE;
  gtk_string_list_splice (self->models, 0, g_list_model_get_n_items (G_LIST_MODEL (self->models)),
                          (const char * const *) models);
  self->updating_models = FALSE;
  model = wanted_model (self);
  select_model (self, model);
}

static void
provider_changed_cb (RillWindow *self)
{
  RillProvider *provider = get_provider (self);

  update_welcome (self);
  _rill_window_update_actions (self);

  g_cancellable_cancel (self->models_cancellable);
  g_clear_object (&self->models_cancellable);
  if (provider == NULL)
    return;
  self->models_cancellable = g_cancellable_new ();
  rill_provider_list_models_async (provider, self->models_cancellable, list_models_cb, g_object_ref (self));
}

static void
model_selected_cb (RillWindow *self)
{
  GtkStringObject *item;
  const char *model;

  if (self->updating_models)
    return;
  item = gtk_drop_down_get_selected_item (self->model_dropdown);
  if (item == NULL)
    return;
  model = gtk_string_object_get_string (item);

  g_free (self->pending_model);
  self->pending_model = g_strdup (model);
  if (self->conversation_id != 0 && self->store != NULL)
    rill_store_update_conversation_async (self->store, self->conversation_id, RILL_CONVERSATION_MODEL,
                                          model, NULL, NULL, NULL);
}

static char *
selected_model (RillWindow *self)
{
  GtkStringObject *item = gtk_drop_down_get_selected_item (self->model_dropdown);

  return item ? g_strdup (gtk_string_object_get_string (item)) : NULL;
}

/* Conversations */

static void
row_edit_cb (RillWindow     *self,
             RillMessageRow *row)
{
  _rill_window_edit (self, row);
}

static void
row_regenerate_cb (RillWindow     *self,
                   RillMessageRow *row)
{
  _rill_window_regenerate_from (self, row);
}

static void
row_continue_cb (RillWindow     *self,
                 RillMessageRow *row)
{
  _rill_window_continue (self);
}

static void
append_row (RillWindow     *self,
            RillMessageRow *row)
{
  g_signal_connect_object (row, "edit", G_CALLBACK (row_edit_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "regenerate", G_CALLBACK (row_regenerate_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "retry", G_CALLBACK (row_regenerate_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "continue", G_CALLBACK (row_continue_cb), self, G_CONNECT_SWAPPED);
  gtk_box_append (self->messages_box, GTK_WIDGET (row));
  update_last_flags (self);
  update_content_page (self);
}

static void
clear_rows (RillWindow *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box))) != NULL)
    gtk_box_remove (self->messages_box, child);
}

static void
remove_rows_from (RillWindow     *self,
                  RillMessageRow *from)
{
  GtkWidget *child = GTK_WIDGET (from);

  while (child != NULL)
    {
      GtkWidget *next = gtk_widget_get_next_sibling (child);

      gtk_box_remove (self->messages_box, child);
      child = next;
    }
  update_last_flags (self);
}

static void
cancel_edit (RillWindow *self)
{
  self->editing_message_id = 0;
  gtk_revealer_set_reveal_child (self->edit_revealer, FALSE);
}

void
rill_window_open_conversation (RillWindow *self,
                               gint64      conversation_id,
                               gint64      message_id)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *model = NULL;

  g_return_if_fail (RILL_IS_WINDOW (self));

  if (self->store == NULL)
    return;

  if (conversation_id != 0 &&
      (messages = rill_store_list_messages (self->store, conversation_id, &error)) == NULL)
    {
      _rill_window_show_banner (self, error->message);
      return;
    }

  cancel_edit (self);
  clear_rows (self);
  self->conversation_id = conversation_id;
  g_clear_pointer (&self->pending_model, g_free);
  g_settings_set_int64 (self->settings, "last-conversation", conversation_id);

  for (guint i = 0; messages != NULL && i < messages->len; i++)
    {
      RillMessage *message = g_ptr_array_index (messages, i);
      RillMessageRow *row = NULL;

      if (rill_message_get_role (message) == RILL_ROLE_SYSTEM)
        continue;

      /* The reply still streaming here keeps its live row. */
      if (self->reply != NULL && self->reply_row != NULL &&
          rill_reply_get_message_id (self->reply) == rill_message_get_id (message))
        row = self->reply_row;
      else if (self->reply != NULL && self->reply_user_row != NULL &&
               rill_reply_get_user_message_id (self->reply) == rill_message_get_id (message))
        row = self->reply_user_row;
      else
        row = rill_message_row_new_for_message (message);
      append_row (self, row);
    }

  update_title (self);
  update_content_page (self);
  update_send_button (self);
  select_current (self);
  model = wanted_model (self);
  select_model (self, model);
  _rill_window_update_actions (self);

  if (message_id != 0)
    scroll_to_message (self, message_id);
  else
    {
      self->follow_end = TRUE;
      follow_end (self);
    }
  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));
}

void
_rill_window_new_conversation (RillWindow *self)
{
  g_autofree char *model = selected_model (self);

  rill_window_open_conversation (self, 0, 0);
  /* A new conversation starts with the model in use, not the first listed. */
  if (model != NULL)
    {
      select_model (self, model);
      self->pending_model = g_steal_pointer (&model);
    }
}

/* Replies */

static void
reply_started_cb (RillWindow *self,
                  RillReply  *reply)
{
  if (reply == self->reply && self->reply_user_row != NULL)
    rill_message_row_set_message_id (self->reply_user_row, rill_reply_get_user_message_id (reply));
  /* The store titled the conversation from this message and moved it to the
   * top. */
  _rill_window_reload_sidebar (self);
  if (rill_reply_get_conversation_id (reply) == self->conversation_id)
    update_title (self);
}

static void
reply_finished_cb (RillWindow *self,
                   RillReply  *reply)
{
  const GError *store_error = rill_reply_get_store_error (reply);

  if (store_error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The reply could not be saved: %s"), store_error->message);
      _rill_window_show_banner (self, text);
    }
  else if (rill_reply_get_status (reply) == RILL_STATUS_FAILED)
    _rill_window_show_banner (self, rill_reply_get_error (reply));

  if (reply == self->reply)
    {
      g_clear_object (&self->reply_row);
      g_clear_object (&self->reply_user_row);
      g_clear_object (&self->reply);
    }
  g_signal_handlers_disconnect_by_data (reply, self);

  update_send_button (self);
  update_last_flags (self);
  _rill_window_update_actions (self);
  _rill_window_reload_sidebar (self);
}

static void
fill_options (RillWindow       *self,
              RillReplyOptions *options)
{
  g_autoptr(RillConversation) conversation = NULL;
  g_autofree char *system_prompt = NULL;
  const char *own_prompt = NULL;

  rill_reply_options_init (options);
  options->model = selected_model (self);
  options->default_model = g_settings_get_string (self->settings, "default-model");
  if (options->default_model[0] == '\0')
    g_clear_pointer (&options->default_model, g_free);

  /* A conversation's own prompt wins over the one from the preferences. */
  conversation = rill_store_get_conversation (self->store, self->conversation_id, NULL);
  if (conversation != NULL)
    own_prompt = rill_conversation_get_system_prompt (conversation);
  system_prompt = g_settings_get_string (self->settings, "system-prompt");
  if ((own_prompt == NULL || *own_prompt == '\0') && *system_prompt != '\0')
    options->system_prompt = g_steal_pointer (&system_prompt);

  options->temperature = g_settings_get_double (self->settings, "temperature");
  options->history_limit = g_settings_get_uint (self->settings, "history-limit");
  options->connect_timeout_ms = g_settings_get_uint (self->settings, "connect-timeout") * 1000;
  options->idle_timeout_ms = g_settings_get_uint (self->settings, "idle-timeout") * 1000;
}

static void
start_reply (RillWindow *self,
             const char *user_text)
{
  RillProvider *provider = get_provider (self);
  RillReplyOptions options;
  RillMessageRow *row;

  g_assert (self->reply == NULL);
  g_assert (self->conversation_id != 0);

  if (provider == NULL)
    {
      _rill_window_show_banner (self, _("No server to send to. Add one in Preferences."));
      return;
    }

  fill_options (self, &options);
  self->reply = rill_reply_new (self->store, provider, self->conversation_id, user_text, &options);
  rill_reply_options_clear (&options);

  if (user_text != NULL)
    {
      row = rill_message_row_new (RILL_ROLE_USER);
      rill_message_row_set_text (row, user_text);
      self->reply_user_row = g_object_ref_sink (row);
      append_row (self, row);
    }

  row = rill_message_row_new (RILL_ROLE_ASSISTANT);
  self->reply_row = g_object_ref_sink (row);
  rill_message_row_attach_reply (row, self->reply);
  append_row (self, row);

  g_signal_connect_object (self->reply, "started", G_CALLBACK (reply_started_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->reply, "finished", G_CALLBACK (reply_finished_cb), self, G_CONNECT_SWAPPED);

  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  self->follow_end = TRUE;
  follow_end (self);
  update_send_button (self);
  _rill_window_update_actions (self);
  rill_reply_start (self->reply);
}

static void
create_conversation_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(RillWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_steal_pointer (&self->pending_text);
  gint64 id;

  self->creating = FALSE;
  id = rill_store_create_conversation_finish (RILL_STORE (object), result, &error);
  if (id <= 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          _rill_window_show_banner (self, error ? error->message : _("Could not start a conversation."));
          /* Give the words back rather than lose them. */
          gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->composer_view), text, -1);
        }
      _rill_window_update_actions (self);
      return;
    }

  self->conversation_id = id;
  if (self->pending_model != NULL)
    rill_store_update_conversation_async (self->store, id, RILL_CONVERSATION_MODEL,
                                          self->pending_model, NULL, NULL, NULL);
  start_reply (self, text);
  _rill_window_reload_sidebar (self);
}

void
_rill_window_stop (RillWindow *self)
{
  if (self->reply == NULL)
    return;

  /* The row shows what arrived and follows the reply until its final row
   * is committed; the window is free for the next message right away. */
  g_signal_handlers_disconnect_by_data (self->reply, self);
  rill_reply_stop (self->reply);
  g_clear_object (&self->reply_row);
  g_clear_object (&self->reply_user_row);
  g_clear_object (&self->reply);
  update_send_button (self);
  update_last_flags (self);
  _rill_window_update_actions (self);
}

void
_rill_window_send (RillWindow *self)
{
  g_autofree char *text = _rill_window_dup_composer_text (self);
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  if (*stripped == '\0' || self->creating || reply_is_here (self))
    return;

  if (self->store == NULL)
    {
      _rill_window_show_banner (self, _("The history could not be opened, so nothing can be sent."));
      return;
    }
  if (get_provider (self) == NULL)
    {
      RillApplication *app = get_app (self);

      _rill_window_show_banner (self, app ? rill_application_get_provider_status (app)
                                          : _("No server to send to. Add one in Preferences."));
      return;
    }

  /* A reply still streaming in another conversation ends here, kept. */
  _rill_window_stop (self);

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->composer_view), "", 0);
  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));

  if (self->editing_message_id != 0)
    {
      RillMessageRow *row = find_row (self, self->editing_message_id);

      /* Queued before the reply's own writes, so the writer deletes the old
       * messages first. */
      rill_store_truncate_conversation_async (self->store, self->editing_message_id, NULL, NULL, NULL);
      if (row != NULL)
        remove_rows_from (self, row);
      cancel_edit (self);
    }

  if (self->conversation_id == 0)
    {
      self->creating = TRUE;
      self->pending_text = g_steal_pointer (&text);
      rill_store_create_conversation_async (self->store, NULL, self->cancellable,
                                            create_conversation_cb, g_object_ref (self));
      _rill_window_update_actions (self);
      return;
    }

  start_reply (self, text);
}

void
_rill_window_regenerate_from (RillWindow     *self,
                              RillMessageRow *row)
{
  gint64 id = rill_message_row_get_message_id (row);

  if (id == 0 || rill_message_row_get_role (row) != RILL_ROLE_ASSISTANT)
    return;
  if (self->reply != NULL)
    _rill_window_stop (self);
  rill_store_truncate_conversation_async (self->store, id, NULL, NULL, NULL);
  remove_rows_from (self, row);
  start_reply (self, NULL);
}

/* Answers the conversation as it stands: the stopped or interrupted reply
 * goes out as history, so the model carries on from where it ended. */
void
_rill_window_continue (RillWindow *self)
{
  if (self->conversation_id == 0 || self->store == NULL || self->creating)
    return;
  if (self->reply != NULL)
    _rill_window_stop (self);
  start_reply (self, NULL);
}

void
_rill_window_edit (RillWindow     *self,
                   RillMessageRow *row)
{
  gint64 id = rill_message_row_get_message_id (row);

  if (id == 0)
    return;
  self->editing_message_id = id;
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->composer_view),
                            rill_message_row_get_source (row), -1);
  gtk_revealer_set_reveal_child (self->edit_revealer, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));
}

void
rill_window_prepare_close (RillWindow *self)
{
  g_return_if_fail (RILL_IS_WINDOW (self));

  _rill_window_stop (self);
  if (self->delete_toast != NULL)
    adw_toast_dismiss (self->delete_toast);
}

/* Composer */

static gboolean
composer_key_pressed_cb (RillWindow      *self,
                         guint            keyval,
                         guint            keycode,
                         GdkModifierType  state,
                         GtkEventController *controller)
{
  if (keyval != GDK_KEY_Return && keyval != GDK_KEY_KP_Enter && keyval != GDK_KEY_ISO_Enter)
    return GDK_EVENT_PROPAGATE;
  if (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK | GDK_ALT_MASK))
    return GDK_EVENT_PROPAGATE;
  /* While an input method composes (pinyin candidates, for one), Return
   * confirms its text: it belongs to the input method, never to Send. The
   * view reports the composition through "preedit-changed"; while there is
   * one we let the key go on to the view, which gives it to the input
   * method. (An input method that takes the key before us never lets us see
   * it at all, which is just as right.) */
  if (self->preedit)
    return GDK_EVENT_PROPAGATE;

  if (reply_is_here (self))
    return GDK_EVENT_STOP;
  _rill_window_send (self);
  return GDK_EVENT_STOP;
}

static void
composer_preedit_changed_cb (RillWindow *self,
                             const char *preedit)
{
  self->preedit = preedit != NULL && *preedit != '\0';
}

static void
composer_changed_cb (RillWindow *self)
{
  _rill_window_update_actions (self);
}

/* Window */

static gboolean
rill_window_close_request (GtkWindow *window)
{
  RillWindow *self = RILL_WINDOW (window);
  int width, height;

  rill_window_prepare_close (self);
  /* Bounded: a slow disk never keeps a closed window on screen. */
  if (self->store != NULL && !rill_store_sync (self->store, 1000))
    g_warning ("The history database did not finish writing within a second");

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (rill_window_parent_class)->close_request (window);
}

static void
show_startup_notices (RillWindow *self)
{
  guint recovered;
  const char *aside;

  if (self->store == NULL)
    {
      const GError *error = rill_application_get_store_error (get_app (self));
      g_autofree char *text = g_strdup_printf (_("The history could not be opened: %s"),
                                               error ? error->message : "");
      _rill_window_show_banner (self, text);
      return;
    }

  if ((aside = rill_store_get_set_aside_path (self->store)) != NULL)
    {
      g_autofree char *text =
        g_strdup_printf (_("The history database was damaged. It was moved to %s and a new one was started."),
                         aside);
      _rill_window_show_banner (self, text);
    }

  if ((recovered = rill_store_get_n_recovered (self->store)) > 0)
    {
      g_autofree char *text =
        g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                      "%u reply was cut short when Rill last ended; what arrived is kept",
                                      "%u replies were cut short when Rill last ended; what arrived is kept",
                                      recovered),
                         recovered);
      _rill_window_toast (self, text);
    }
}

/* Not in constructed: "application" is not a construct property, so it is
 * set only after constructed ran. */
static void
setup (RillWindow *self)
{
  RillApplication *app = get_app (self);
  GtkListItemFactory *factory;

  g_assert (app != NULL);
  self->settings = g_object_ref (rill_application_get_settings (app));
  if (rill_application_get_store (app) != NULL)
    self->store = g_object_ref (rill_application_get_store (app));

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  if (self->store != NULL)
    self->conversations = rill_conversation_list_new (self->store);
  self->conversation_selection =
    gtk_single_selection_new (self->conversations ? g_object_ref (G_LIST_MODEL (self->conversations)) : NULL);
  gtk_single_selection_set_autoselect (self->conversation_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->conversation_selection, TRUE);
  gtk_single_selection_set_selected (self->conversation_selection, GTK_INVALID_LIST_POSITION);
  gtk_list_view_set_model (self->conversation_view, GTK_SELECTION_MODEL (self->conversation_selection));

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (conversation_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (conversation_bind_cb), NULL);
  gtk_list_view_set_factory (self->conversation_view, factory);
  g_object_unref (factory);

  gtk_list_view_set_model (self->results_view,
                           GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->results)))));
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (result_setup_cb), NULL);
  g_signal_connect_object (factory, "bind", G_CALLBACK (result_bind_cb), self, 0);
  gtk_list_view_set_factory (self->results_view, factory);
  g_object_unref (factory);

  g_signal_connect_object (app, "notify::provider", G_CALLBACK (provider_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (app, "notify::provider-status", G_CALLBACK (update_welcome), self, G_CONNECT_SWAPPED);

  update_sidebar_page (self);
  provider_changed_cb (self);
  show_startup_notices (self);

  /* Open straight into a new conversation, ready to type. */
  rill_window_open_conversation (self, 0, 0);
}

static void
rill_window_dispose (GObject *object)
{
  RillWindow *self = RILL_WINDOW (object);

  if (self->reply != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->reply, self);
      rill_reply_stop (self->reply);
    }
  g_clear_object (&self->reply);
  g_clear_object (&self->reply_row);
  g_clear_object (&self->reply_user_row);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->models_cancellable);
  if (self->scroll_tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->scroll_tick_id);
      self->scroll_tick_id = 0;
    }

  gtk_widget_dispose_template (GTK_WIDGET (self), RILL_TYPE_WINDOW);

  G_OBJECT_CLASS (rill_window_parent_class)->dispose (object);
}

static void
rill_window_finalize (GObject *object)
{
  RillWindow *self = RILL_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->models_cancellable);
  g_clear_object (&self->conversation_selection);
  g_clear_object (&self->conversations);
  g_clear_object (&self->results);
  g_clear_pointer (&self->result_titles, g_hash_table_unref);
  g_clear_object (&self->models);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->pending_model, g_free);
  g_clear_pointer (&self->pending_text, g_free);

  G_OBJECT_CLASS (rill_window_parent_class)->finalize (object);
}

static void
rill_window_class_init (RillWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = rill_window_dispose;
  object_class->finalize = rill_window_finalize;
  window_class->close_request = rill_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/rill-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RillWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, conversation_view);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, results_view);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, welcome_page);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, add_server_button);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, messages_scroller);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, messages_box);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, edit_revealer);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, composer_view);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, send_button);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, conversation_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, result_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, model_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, composer_preedit_changed_cb);

  _rill_window_class_actions_init (klass);
}

static void
model_setup_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                gpointer                  compact)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (compact))
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
      gtk_label_set_width_chars (GTK_LABEL (label), 10);
    }
  gtk_list_item_set_child (item, label);
}

static void
model_bind_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  GtkStringObject *model = gtk_list_item_get_item (item);

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)),
                      model ? gtk_string_object_get_string (model) : "");
}

/* Narrow (the sidebar folded away): the conversation's title gives its room
 * to the model, the one thing in the header bar that is needed there. */
static void
flap_folded_cb (RillWindow *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->window_title), !adw_flap_get_folded (self->flap));
}

static void
rill_window_init (RillWindow *self)
{
  GtkEventController *keys;
  GtkAdjustment *adj;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->results = g_list_store_new (RILL_TYPE_MESSAGE);
  self->result_titles = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  self->models = gtk_string_list_new (NULL);
  self->follow_end = TRUE;
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (self->models));
  {
    GtkExpression *expression = gtk_property_expression_new (GTK_TYPE_STRING_OBJECT, NULL, "string");
    gtk_drop_down_set_expression (self->model_dropdown, expression);
    gtk_expression_unref (expression);
  }
  /* Model names run long ("llama3.1:8b-instruct-q4_K_M"): the button shows
   * an ellipsized one so the header bar fits a phone's width, the list the
   * whole name. */
  {
    GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

    g_signal_connect (factory, "setup", G_CALLBACK (model_setup_cb), GINT_TO_POINTER (TRUE));
    g_signal_connect (factory, "bind", G_CALLBACK (model_bind_cb), NULL);
    gtk_drop_down_set_factory (self->model_dropdown, factory);
    g_object_unref (factory);
    factory = gtk_signal_list_item_factory_new ();
    g_signal_connect (factory, "setup", G_CALLBACK (model_setup_cb), GINT_TO_POINTER (FALSE));
    g_signal_connect (factory, "bind", G_CALLBACK (model_bind_cb), NULL);
    gtk_drop_down_set_list_factory (self->model_dropdown, factory);
    g_object_unref (factory);
  }
  g_signal_connect_object (self->flap, "notify::folded", G_CALLBACK (flap_folded_cb), self, G_CONNECT_SWAPPED);
  flap_folded_cb (self);

  /* Whether this runs before or after the view's own key handling (which
   * hands keys to the input method), composer_key_pressed_cb leaves Return
   * alone while the input method composes. */
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_name (keys, "rill-composer-keys");
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (composer_key_pressed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->composer_view), keys);
  g_signal_connect_object (gtk_text_view_get_buffer (self->composer_view), "changed",
                           G_CALLBACK (composer_changed_cb), self, G_CONNECT_SWAPPED);

  adj = gtk_scrolled_window_get_vadjustment (self->messages_scroller);
  g_signal_connect_object (adj, "notify::upper", G_CALLBACK (adjustment_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adj, "notify::page-size", G_CALLBACK (adjustment_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adj, "value-changed", G_CALLBACK (adjustment_value_changed_cb), self, G_CONNECT_SWAPPED);

  /* Typing in the conversation list searches. */
  gtk_search_entry_set_key_capture_widget (self->search_entry, GTK_WIDGET (self->conversation_view));

  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));
}

RillWindow *
rill_window_new (RillApplication *application)
{
  RillWindow *self;

  g_return_val_if_fail (RILL_IS_APPLICATION (application), NULL);

  self = g_object_new (RILL_TYPE_WINDOW, "application", application, NULL);
  setup (self);
  return self;
}
