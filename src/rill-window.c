/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-window.c
 *
 * The window lays out its pages (the sidebar, the conversation view, the
 * composer and the model picker) and coordinates them: what is sent, which
 * conversation is shown, the banner and the toasts. Each page keeps its own
 * state. One reply streams at a time; everything the store does while it
 * streams is queued to its writer, so the window never waits on SQLite.
 *
 * The window opens before the history does: the session opens it in a
 * thread, and waits as long as another program holds it. Until then the
 * banner says so, and a message sent waits in the composer, where it can
 * still be read and changed, and goes by itself once the history is open.
 * Rill saves a message before sending it, so nothing is sent that could
 * not be kept; and text still in the composer is plainly not sent yet,
 * where a message shown as sent but kept only in memory would be. */

#include <glib/gi18n.h>

#include "rill-accessible.h"
#include "rill-toast.h"
#include "rill-window-private.h"

G_DEFINE_FINAL_TYPE (RillWindow, rill_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

RillStore *
_rill_window_get_store (RillWindow *self)
{
  return rill_session_get_store (self->session);
}

gint64
_rill_window_get_conversation_id (RillWindow *self)
{
  return rill_conversation_view_get_conversation_id (self->conversation_view);
}

void
_rill_window_toast (RillWindow *self,
                    const char *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, rill_toast_new (text));
}

/* One banner, replaced by the newest problem: a burst of failures never
 * turns into a pile of dialogs. */
void
_rill_window_show_banner (RillWindow *self,
                          const char *text)
{
  self->waiting_banner = FALSE;
  gtk_label_set_text (self->banner_label, text);
  gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
  _rill_window_update_actions (self);
}

/* The history is held by another program. */
static void
show_waiting_banner (RillWindow *self)
{
  _rill_window_show_banner (self,
                            self->send_when_open
                            ? _("Waiting for the history: another program is using it. "
                                "Your message will be sent as soon as it is free.")
                            : _("Waiting for the history: another program is using it"));
  self->waiting_banner = TRUE;
}

static void
add_toast_cb (RillWindow *self,
              AdwToast   *toast)
{
  adw_toast_overlay_add_toast (self->toast_overlay, g_object_ref (toast));
}

static void
set_creating (RillWindow *self,
              gboolean    creating)
{
  self->creating = creating;
  rill_composer_set_can_send (self->composer, !creating);
  _rill_window_update_actions (self);
}

/* Conversations */

/* The model a conversation is shown with: its own, else the one picked
 * before it existed, else the default from the preferences. */
static char *
wanted_model (RillWindow *self)
{
  g_autoptr(RillConversation) conversation = NULL;
  gint64 id = _rill_window_get_conversation_id (self);
  const char *model = NULL;
  char *default_model = NULL;

  if (id != 0 && _rill_window_get_store (self) != NULL)
    conversation = rill_store_get_conversation (_rill_window_get_store (self), id, NULL);
  if (conversation != NULL)
    model = rill_conversation_get_model (conversation);
  if (model == NULL || *model == '\0')
    model = self->pending_model;
  /* A new conversation: the model last chosen. */
  if ((model == NULL || *model == '\0') && id == 0)
    model = rill_session_get_last_model (self->session);
  if (model != NULL && *model != '\0')
    return g_strdup (model);
  g_object_get (self->session, "default-model", &default_model, NULL);
  return default_model;
}

void
rill_window_open_conversation (RillWindow *self,
                               gint64      conversation_id,
                               gint64      message_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *model = NULL;
  g_autoptr(RillConversation) conversation = NULL;

  g_return_if_fail (RILL_IS_WINDOW (self));

  /* A new conversation needs no history until something is sent. */
  if (conversation_id != 0 && _rill_window_get_store (self) == NULL)
    return;

  if (!rill_conversation_view_open (self->conversation_view, conversation_id, message_id, &error))
    {
      _rill_window_show_banner (self, error->message);
      return;
    }

  rill_composer_cancel_edit (self->composer, FALSE);
  g_clear_pointer (&self->pending_model, g_free);
  g_clear_pointer (&self->pending_preset, rill_preset_free);
  model = wanted_model (self);
  /* The conversation's own server, even when another lists the model. */
  if (conversation_id != 0)
    conversation = rill_store_get_conversation (_rill_window_get_store (self), conversation_id,
                                                NULL);
  rill_model_picker_set_choice (self->model_picker, model,
                                conversation ? rill_conversation_get_server (conversation)
                                : conversation_id == 0 &&
                                g_strcmp0 (model, rill_session_get_last_model (self->session)) == 0
                                ? rill_session_get_last_server (self->session) : NULL);
  _rill_window_update_actions (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->composer));
}

void
_rill_window_new_conversation (RillWindow *self)
{
  g_autofree char *model = rill_model_picker_dup_selected (self->model_picker);
  g_autofree char *server = rill_model_picker_dup_selected_server (self->model_picker);

  rill_window_open_conversation (self, 0, 0);
  /* A new conversation starts with the model last chosen (see
   * wanted_model); before any, with the model in use, not the first listed. */
  if (rill_session_get_last_model (self->session) != NULL)
    self->pending_model = g_strdup (rill_session_get_last_model (self->session));
  else if (model != NULL)
    {
      rill_model_picker_set_choice (self->model_picker, model, server);
      self->pending_model = g_steal_pointer (&model);
    }
}

static void
conversation_activated_cb (RillWindow *self,
                           gint64      conversation_id,
                           gint64      message_id)
{
  rill_window_open_conversation (self, conversation_id, message_id);
  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

void
rill_window_search (RillWindow *self,
                    const char *query)
{
  g_return_if_fail (RILL_IS_WINDOW (self));

  adw_flap_set_reveal_flap (self->flap, TRUE);
  rill_sidebar_search (self->sidebar, query);
}

static void
model_chosen_cb (RillWindow *self,
                 const char *model)
{
  gint64 id = _rill_window_get_conversation_id (self);

  g_free (self->pending_model);
  self->pending_model = g_strdup (model);
  {
    g_autofree char *server = rill_model_picker_dup_selected_server (self->model_picker);

    rill_session_set_last_model (self->session, model, server);
  }
  if (id != 0 && _rill_window_get_store (self) != NULL)
    rill_store_update_conversation_async (_rill_window_get_store (self), id,
                                          RILL_CONVERSATION_MODEL, model, NULL, NULL, NULL);
  /* Its server follows when the next reply starts (start_reply). */
}

/* Replies */

static void
reply_finished_cb (RillWindow *self,
                   RillReply  *reply)
{
  const GError *store_error = rill_reply_get_store_error (reply);
  const GError *failure = rill_reply_get_failure (reply);

  /* Not even the message could be saved: that is the cause, and the final
   * write that then has no row to write to says nothing more. */
  if (failure != NULL && failure->domain == RILL_STORE_ERROR)
    _rill_window_show_banner (self, failure->message);
  else if (store_error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The reply could not be saved: %s"),
                                               store_error->message);
      _rill_window_show_banner (self, text);
    }
  else if (rill_reply_get_status (reply) == RILL_STATUS_FAILED)
    _rill_window_show_banner (self, rill_reply_get_error (reply));

  rill_session_name_conversation_async (self->session, reply, NULL, NULL, NULL);
  _rill_window_update_actions (self);
  _rill_window_tools_reply_finished (self, reply);
}

static void
tool_run_finished_cb (RillWindow  *self,
                      RillToolRun *run)
{
  _rill_window_tools_run_finished (self, run);
}

static void
streaming_changed_cb (RillWindow *self)
{
  _rill_window_update_actions (self);
}

/* The composer's attachments as the store keeps them; the composer is
 * left without any. */
static GPtrArray *
take_attachments (RillWindow *self)
{
  GListModel *list = rill_composer_get_attachments (self->composer);
  guint n = g_list_model_get_n_items (list);
  GPtrArray *attachments = g_ptr_array_new_full (n, (GDestroyNotify) rill_stored_attachment_free);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RillAttachment) attachment = g_list_model_get_item (list, i);
      g_autofree char *context = rill_attachment_format_as_context (attachment);
      RillStoredAttachment *stored;
      GBytes *thumbnail;
      guint width, height;

      stored = rill_stored_attachment_new (rill_attachment_get_name (attachment),
                                           rill_attachment_get_mime_type (attachment),
                                           rill_attachment_get_bytes (attachment), context);
      /* Made when it was attached: storing it decodes nothing. */
      if ((thumbnail = rill_attachment_get_stored_thumbnail (attachment, &width, &height)))
        {
          stored->thumbnail = g_bytes_ref (thumbnail);
          stored->thumbnail_width = width;
          stored->thumbnail_height = height;
        }
      g_ptr_array_add (attachments, stored);
    }
  if (n > 0)
    rill_composer_clear_attachments (self->composer);
  return attachments;
}

/* Asks for a reply in @conversation_id, which becomes the one shown. With
 * @version_of, the new rows are a new version of that message (editing,
 * regenerating); without, they follow the last message shown. */
void
_rill_window_start_reply (RillWindow *self,
                          gint64      conversation_id,
                          const char *user_text,
                          gint64      version_of)
{
  RillProvider *provider;
  RillStore *store = _rill_window_get_store (self);
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(RillReply) reply = NULL;
  g_autofree char *model = NULL;
  g_autofree char *server_id = NULL;
  const char *kept = NULL;
  RillReplyOptions options;

  g_assert (rill_conversation_view_get_reply (self->conversation_view) == NULL);
  g_assert (conversation_id != 0);

  /* The server is the one picked with the model; the picker shows the
   * conversation's own when it is opened, and another only when the
   * person chooses one. Without either, the first server switched on,
   * which the conversation then keeps. */
  conversation = rill_store_get_conversation (store, conversation_id, NULL);
  if (conversation != NULL)
    kept = rill_conversation_get_server (conversation);
  server_id = rill_model_picker_dup_selected_server (self->model_picker);
  if (server_id == NULL && kept != NULL && *kept != '\0')
    server_id = g_strdup (kept);
  if (server_id == NULL)
    server_id = g_strdup (rill_session_get_provider_id (self->session));
  provider = server_id ? rill_session_get_provider_for (self->session, server_id) : NULL;

  if (provider == NULL && server_id != NULL &&
      (g_strcmp0 (server_id, kept) == 0 || rill_session_get_provider (self->session) != NULL))
    {
      const char *url = conversation ? rill_conversation_get_server_url (conversation) : NULL;
      g_autofree char *text = NULL;

      /* Never another server in its place, silently: the person chooses. */
      text = g_strdup_printf (_("The server of this conversation (%s) is gone or switched off. "
                                "Choose a model to go on with another server."),
                              url && *url ? url : server_id);
      _rill_window_show_banner (self, text);
      rill_model_picker_popup (self->model_picker);
      return;
    }
  if (provider == NULL)
    {
      _rill_window_show_banner (self, _("No server to send to. Add one in Preferences."));
      return;
    }
  if (g_strcmp0 (server_id, kept) != 0)
    {
      rill_store_update_conversation_async (store, conversation_id, RILL_CONVERSATION_SERVER,
                                            server_id, NULL, NULL, NULL);
      rill_store_update_conversation_async (store, conversation_id, RILL_CONVERSATION_SERVER_URL,
                                            rill_provider_get_display_url (provider),
                                            NULL, NULL, NULL);
    }

  model = rill_model_picker_dup_selected (self->model_picker);
  rill_session_fill_reply_options (self->session, conversation, model, &options);
  _rill_window_tools_fill_options (self, &options);
  reply = rill_reply_new (store, provider, conversation_id, user_text, &options);
  rill_reply_options_clear (&options);
  rill_reply_set_version_of (reply, version_of);
  /* What is attached goes with the words typed, and leaves the composer
   * only now that it is sure to be stored with them. */
  if (user_text != NULL)
    {
      g_autoptr(GPtrArray) attachments = take_attachments (self);

      rill_reply_set_attachments (reply, attachments);
    }

  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  rill_conversation_view_start_reply (self->conversation_view, reply, user_text);
  _rill_window_update_actions (self);
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

  set_creating (self, FALSE);
  id = rill_store_create_conversation_finish (RILL_STORE (object), result, &error);
  if (id <= 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          _rill_window_show_banner (self, error ? error->message
                                                : _("Could not start a conversation."));
          /* Give the words back rather than lose them. */
          rill_composer_set_text (self->composer, text);
        }
      return;
    }

  if (self->pending_model != NULL)
    rill_store_update_conversation_async (RILL_STORE (object), id, RILL_CONVERSATION_MODEL,
                                          self->pending_model, NULL, NULL, NULL);
  _rill_window_start_reply (self, id, text, 0);
}

void
_rill_window_stop (RillWindow *self)
{
  rill_conversation_view_stop_reply (self->conversation_view);
  _rill_window_update_actions (self);
}

static void
send_cb (RillWindow *self)
{
  _rill_window_send (self);
}

static void
stop_cb (RillWindow *self)
{
  _rill_window_stop (self);
}

void
_rill_window_send (RillWindow *self)
{
  g_autofree char *text = rill_composer_dup_text (self->composer);
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  gint64 editing = rill_composer_get_editing_message_id (self->composer);
  RillStore *store = _rill_window_get_store (self);

  if (*stripped == '\0' || self->creating ||
      rill_conversation_view_get_streaming (self->conversation_view))
    return;

  if (store == NULL && rill_session_get_store_error (self->session) != NULL)
    {
      _rill_window_show_banner (self,
                                _("The history could not be opened, so nothing can be sent."));
      return;
    }
  if (store == NULL)
    {
      /* Sent by store_changed_cb once the history is open. */
      self->send_when_open = TRUE;
      if (rill_session_get_store_waiting (self->session))
        show_waiting_banner (self);
      return;
    }
  if (rill_session_get_provider (self->session) == NULL)
    {
      _rill_window_show_banner (self, rill_session_get_provider_status (self->session));
      return;
    }
  /* The words stay in the composer while the tools are gathered. */
  if (!_rill_window_tools_ensure (self, RILL_WINDOW_TOOLS_FOR_SEND, 0))
    return;

  /* A reply still streaming in another conversation ends here, kept. */
  _rill_window_stop (self);

  rill_composer_set_text (self->composer, "");
  gtk_widget_grab_focus (GTK_WIDGET (self->composer));

  /* The edited message and what follows it stay, as the older version;
   * the view shows the new one in their place. */
  if (editing != 0)
    {
      RillMessageRow *row = rill_conversation_view_find_row (self->conversation_view, editing);

      if (row != NULL)
        rill_conversation_view_remove_rows_from (self->conversation_view, row);
      rill_composer_cancel_edit (self->composer, FALSE);
    }

  if (_rill_window_get_conversation_id (self) == 0)
    {
      self->pending_text = g_steal_pointer (&text);
      set_creating (self, TRUE);
      _rill_window_create_conversation (self, create_conversation_cb);
      return;
    }

  _rill_window_start_reply (self, _rill_window_get_conversation_id (self), text, editing);
}

void
_rill_window_regenerate_from (RillWindow     *self,
                              RillMessageRow *row)
{
  gint64 id = rill_message_row_get_message_id (row);

  if (id == 0 || rill_message_row_get_role (row) != RILL_ROLE_ASSISTANT)
    return;
  if (!_rill_window_tools_ensure (self, RILL_WINDOW_TOOLS_FOR_REGENERATE, id))
    return;
  _rill_window_stop (self);
  /* The reply replaced stays, as the older version. */
  rill_conversation_view_remove_rows_from (self->conversation_view, row);
  _rill_window_start_reply (self, _rill_window_get_conversation_id (self), NULL, id);
}

/* Answers the conversation as it stands: the stopped or interrupted reply
 * goes out as history, so the model carries on from where it ended. */
void
_rill_window_continue (RillWindow *self)
{
  if (_rill_window_get_conversation_id (self) == 0 ||
      _rill_window_get_store (self) == NULL || self->creating)
    return;
  /* Stopped first: a run of calls ends as stopped before the gathering. */
  _rill_window_stop (self);
  if (!_rill_window_tools_ensure (self, RILL_WINDOW_TOOLS_FOR_CONTINUE, 0))
    return;
  _rill_window_start_reply (self, _rill_window_get_conversation_id (self), NULL, 0);
}

void
_rill_window_edit (RillWindow     *self,
                   RillMessageRow *row)
{
  gint64 id = rill_message_row_get_message_id (row);

  if (id == 0)
    return;
  /* The message's files come with its text, as chips that can be removed;
   * sent again, their bytes are shared with the first version's. */
  rill_composer_clear_attachments (self->composer);
  rill_composer_edit (self->composer, id, rill_message_row_get_source (row));
  if (_rill_window_get_store (self) != NULL)
    {
      g_autoptr(GPtrArray) stored = rill_store_list_attachments (_rill_window_get_store (self),
                                                                 id, NULL);

      for (guint i = 0; stored != NULL && i < stored->len; i++)
        {
          RillStoredAttachment *attachment = g_ptr_array_index (stored, i);

          if (attachment->data != NULL)
            rill_composer_attach_stored (self->composer, attachment->data, attachment->name);
        }
    }
  _rill_window_update_actions (self);
}

static void
edit_cb (RillWindow     *self,
         RillMessageRow *row)
{
  _rill_window_edit (self, row);
}

static void
regenerate_cb (RillWindow     *self,
               RillMessageRow *row)
{
  _rill_window_regenerate_from (self, row);
}

static void
continue_cb (RillWindow     *self,
             RillMessageRow *row)
{
  _rill_window_continue (self);
}

void
rill_window_prepare_close (RillWindow *self)
{
  g_return_if_fail (RILL_IS_WINDOW (self));

  _rill_window_stop (self);
  if (self->delete_toast != NULL)
    adw_toast_dismiss (self->delete_toast);
}

/* Window */

static gboolean
rill_window_close_request (GtkWindow *window)
{
  RillWindow *self = RILL_WINDOW (window);
  GSettings *settings = rill_session_get_settings (self->session);
  RillStore *store = _rill_window_get_store (self);
  int width, height;

  rill_window_prepare_close (self);
  /* Bounded: a slow disk never keeps a closed window on screen. */
  if (store != NULL && !rill_store_sync (store, 1000))
    g_warning ("The history database did not finish writing within a second");

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (rill_window_parent_class)->close_request (window);
}

/* What the open found: a damaged file set aside, replies cut short. */
static void
show_store_notices (RillWindow *self,
                    RillStore  *store)
{
  guint recovered;
  const char *aside;

  if ((aside = rill_store_get_set_aside_path (store)) != NULL)
    {
      g_autofree char *text =
        g_strdup_printf (_("The history database was damaged. "
                           "It was moved to %s and a new one was started."),
                         aside);
      _rill_window_show_banner (self, text);
    }

  if ((recovered = rill_store_get_n_recovered (store)) > 0)
    {
      g_autofree char *text =
        g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                      "%u reply was cut short when Rill last ended; "
                                      "what arrived is kept",
                                      "%u replies were cut short when Rill last ended; "
                                      "what arrived is kept",
                                      recovered),
                         recovered);
      _rill_window_toast (self, text);
    }
}

/* The session's history: opened, could not be, or waited for. Every
 * window follows it, whenever it was opened. */
static void
store_state_cb (RillWindow *self)
{
  const GError *error = rill_session_get_store_error (self->session);

  if (error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The history could not be opened: %s"),
                                               error->message);
      _rill_window_show_banner (self, text);
    }
  else if (rill_session_get_store_waiting (self->session))
    show_waiting_banner (self);
  else if (self->waiting_banner)
    {
      self->waiting_banner = FALSE;
      gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
    }
  _rill_window_update_actions (self);
}

static void
store_changed_cb (RillWindow *self)
{
  RillStore *store = _rill_window_get_store (self);

  store_state_cb (self);
  if (store == NULL)
    return;
  show_store_notices (self, store);
  /* The model last chosen is known once the history is open. */
  if (_rill_window_get_conversation_id (self) == 0 && self->pending_model == NULL &&
      rill_session_get_last_model (self->session) != NULL)
    rill_model_picker_set_choice (self->model_picker, rill_session_get_last_model (self->session),
                                  rill_session_get_last_server (self->session));
  if (self->send_when_open)
    {
      self->send_when_open = FALSE;
      _rill_window_send (self);
    }
}

/* The limits of what may be attached come from the settings; the loader
 * itself takes them as a plain struct, so the core stays free of
 * GSettings and the tests can give it any. */
static void
attachment_limits_changed_cb (RillWindow *self)
{
  GSettings *settings = rill_session_get_settings (self->session);
  RillAttachmentLimits limits;

  rill_attachment_limits_init (&limits);
  limits.max_image_side = g_settings_get_uint (settings, "attachment-max-image-side");
  limits.max_image_bytes = g_settings_get_uint (settings, "attachment-max-image-bytes");
  limits.max_text_bytes = g_settings_get_uint (settings, "attachment-max-text-bytes");
  rill_composer_set_attachment_limits (self->composer, &limits);
}

static void
rill_window_constructed (GObject *object)
{
  RillWindow *self = RILL_WINDOW (object);
  GSettings *settings;
  GtkWidget *tools;

  G_OBJECT_CLASS (rill_window_parent_class)->constructed (object);

  g_assert (RILL_IS_SESSION (self->session));
  settings = rill_session_get_settings (self->session);

  /* The pages follow the window's session. */
  g_object_bind_property (self, "session", self->sidebar, "session", G_BINDING_SYNC_CREATE);
  g_object_bind_property (self, "session", self->conversation_view, "session",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self, "session", self->model_picker, "session", G_BINDING_SYNC_CREATE);
  /* The Tools button shows and sets the tools of the conversation shown. */
  tools = rill_composer_get_tools_button (self->composer);
  g_object_bind_property (self, "session", tools, "session", G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->conversation_view, "conversation-id", tools, "conversation-id",
                          G_BINDING_SYNC_CREATE);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_signal_connect_object (settings, "changed::attachment-max-image-side",
                           G_CALLBACK (attachment_limits_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed::attachment-max-image-bytes",
                           G_CALLBACK (attachment_limits_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed::attachment-max-text-bytes",
                           G_CALLBACK (attachment_limits_changed_cb), self, G_CONNECT_SWAPPED);
  attachment_limits_changed_cb (self);

  g_signal_connect_object (self->session, "notify::provider",
                           G_CALLBACK (_rill_window_update_actions), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::store",
                           G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::store-error",
                           G_CALLBACK (store_state_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::store-waiting",
                           G_CALLBACK (store_state_cb), self, G_CONNECT_SWAPPED);

  store_state_cb (self);
  if (_rill_window_get_store (self) != NULL)
    show_store_notices (self, _rill_window_get_store (self));

  /* Open straight into a new conversation, ready to type. */
  rill_window_open_conversation (self, 0, 0);
}

static void
rill_window_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  RillWindow *self = RILL_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_window_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  RillWindow *self = RILL_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_window_dispose (GObject *object)
{
  RillWindow *self = RILL_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RILL_TYPE_WINDOW);

  G_OBJECT_CLASS (rill_window_parent_class)->dispose (object);
}

static void
rill_window_finalize (GObject *object)
{
  RillWindow *self = RILL_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_clear_pointer (&self->pending_model, g_free);
  g_clear_pointer (&self->pending_text, g_free);
  g_clear_pointer (&self->pending_preset, rill_preset_free);
  g_clear_pointer (&self->loop_tools, g_ptr_array_unref);

  G_OBJECT_CLASS (rill_window_parent_class)->finalize (object);
}

static void
rill_window_class_init (RillWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = rill_window_constructed;
  object_class->dispose = rill_window_dispose;
  object_class->finalize = rill_window_finalize;
  object_class->get_property = rill_window_get_property;
  object_class->set_property = rill_window_set_property;
  window_class->close_request = rill_window_close_request;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (RILL_TYPE_SIDEBAR);
  g_type_ensure (RILL_TYPE_CONVERSATION_VIEW);
  g_type_ensure (RILL_TYPE_COMPOSER);
  g_type_ensure (RILL_TYPE_MODEL_PICKER);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/rill-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RillWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, model_picker);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, conversation_view);
  gtk_widget_class_bind_template_child (widget_class, RillWindow, composer);
  gtk_widget_class_bind_template_callback (widget_class, add_toast_cb);
  gtk_widget_class_bind_template_callback (widget_class, conversation_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, model_chosen_cb);
  gtk_widget_class_bind_template_callback (widget_class, edit_cb);
  gtk_widget_class_bind_template_callback (widget_class, regenerate_cb);
  gtk_widget_class_bind_template_callback (widget_class, continue_cb);
  gtk_widget_class_bind_template_callback (widget_class, reply_finished_cb);
  gtk_widget_class_bind_template_callback (widget_class, tool_run_finished_cb);
  gtk_widget_class_bind_template_callback (widget_class, streaming_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, send_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_cb);

  _rill_window_class_actions_init (klass);
}

static void
rill_window_init (RillWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  rill_accessible_name_buttons (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

RillWindow *
rill_window_new (GtkApplication *application,
                 RillSession    *session)
{
  GtkShortcutsWindow *overlay;
  RillWindow *window;

  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (RILL_IS_SESSION (session), NULL);

  window = g_object_new (RILL_TYPE_WINDOW, "application", application, "session", session, NULL);
  /* GtkApplication gives the window its shortcuts window as it is added. */
  if ((overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window))))
    {
      gtk_window_set_title (GTK_WINDOW (overlay), _("Keyboard Shortcuts"));
      rill_accessible_name_foreign (GTK_WIDGET (overlay), NULL);
    }
  return window;
}
