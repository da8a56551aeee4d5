/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-window-actions.c: what the window's menus, buttons and shortcuts do.
 * The accelerators are in the table at the end (set on the application by
 * rill_window_install_accels), and listed in rill-shortcuts-window.ui. */

#include <glib/gi18n.h>

#include "rill-accessible.h"
#include "rill-export.h"
#include "rill-toast.h"
#include "rill-window-private.h"

static void
send_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  _rill_window_send (RILL_WINDOW (widget));
}

static void
stop_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  _rill_window_stop (RILL_WINDOW (widget));
}

static void
new_conversation_action (GtkWidget  *widget,
                         const char *name,
                         GVariant   *param)
{
  _rill_window_new_conversation (RILL_WINDOW (widget));
}

/* Presets: a new conversation that will start from a copy of the preset.
 * Nothing is stored until the first message is sent, as with Ctrl+N; the
 * picker shows the preset's model and server meanwhile. */
void
_rill_window_new_conversation_from_preset (RillWindow *self,
                                           const char *name)
{
  g_autoptr(RillPreset) preset = rill_session_dup_preset (self->session, name);

  _rill_window_new_conversation (self);
  if (preset == NULL)
    return;
  g_settings_set_string (rill_session_get_settings (self->session), "last-preset", preset->name);
  if (*preset->model != '\0')
    {
      rill_model_picker_set_choice (self->model_picker, preset->model,
                                    *preset->server != '\0' ? preset->server : NULL);
      g_free (self->pending_model);
      self->pending_model = g_strdup (preset->model);
    }
  self->pending_preset = g_steal_pointer (&preset);
}

/* Creates the new conversation being shown: from its preset, with the copy,
 * or plain. */
void
_rill_window_create_conversation (RillWindow          *self,
                                  GAsyncReadyCallback  callback)
{
  RillStore *store = _rill_window_get_store (self);
  g_autoptr(RillPreset) preset = g_steal_pointer (&self->pending_preset);
  RillServerItem *item;

  if (preset == NULL)
    {
      rill_store_create_conversation_async (store, NULL, self->cancellable, callback,
                                            g_object_ref (self));
      return;
    }
  /* The server is the one chosen with the model, as for any conversation;
   * the preset's unless the person picked another before sending. */
  g_free (preset->server);
  preset->server = rill_model_picker_dup_selected_server (self->model_picker);
  item = preset->server ? rill_session_find_server (self->session, preset->server) : NULL;
  if (preset->server == NULL)
    preset->server = g_strdup ("");
  g_free (preset->model);
  preset->model = rill_model_picker_dup_selected (self->model_picker);
  if (preset->model == NULL)
    preset->model = g_strdup ("");
  rill_store_create_conversation_from_preset_async (store, NULL, preset,
                                                    item ? rill_server_item_get_display_url (item)
                                                    : NULL,
                                                    self->cancellable, callback,
                                                    g_object_ref (self));
}

static void
new_from_preset_action (GtkWidget  *widget,
                        const char *name,
                        GVariant   *param)
{
  _rill_window_new_conversation_from_preset (RILL_WINDOW (widget),
                                             g_variant_get_string (param, NULL));
}

/* Ctrl+Shift+N: the preset last started from; without one (none used yet,
 * or it was removed since), a plain new conversation, as Ctrl+N. */
static void
new_from_last_preset_action (GtkWidget  *widget,
                             const char *name,
                             GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);
  g_autofree char *last = g_settings_get_string (rill_session_get_settings (self->session),
                                                 "last-preset");

  _rill_window_new_conversation_from_preset (self, last);
}

static void
search_action (GtkWidget  *widget,
               const char *name,
               GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);

  adw_flap_set_reveal_flap (self->flap, TRUE);
  rill_sidebar_focus_search (self->sidebar);
}

static void
toggle_sidebar_action (GtkWidget  *widget,
                       const char *name,
                       GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);

  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
}

static void
focus_composer_action (GtkWidget  *widget,
                       const char *name,
                       GVariant   *param)
{
  gtk_widget_grab_focus (GTK_WIDGET (RILL_WINDOW (widget)->composer));
}

static void
dismiss_banner_action (GtkWidget  *widget,
                       const char *name,
                       GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);

  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  _rill_window_update_actions (self);
}

static void
choose_model_action (GtkWidget  *widget,
                     const char *name,
                     GVariant   *param)
{
  rill_model_picker_popup (RILL_WINDOW (widget)->model_picker);
}

static void
regenerate_action (GtkWidget  *widget,
                   const char *name,
                   GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);
  RillMessageRow *row = rill_conversation_view_get_last_row (self->conversation_view,
                                                             RILL_ROLE_ASSISTANT);

  if (row != NULL && gtk_widget_get_next_sibling (GTK_WIDGET (row)) == NULL)
    _rill_window_regenerate_from (self, row);
}

static void
copy_last_action (GtkWidget  *widget,
                  const char *name,
                  GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);
  RillMessageRow *row = rill_conversation_view_get_last_row (self->conversation_view,
                                                             RILL_ROLE_ASSISTANT);

  if (row == NULL)
    return;
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), rill_message_row_get_source (row));
  _rill_window_toast (self, _("Reply copied"));
}

static void
edit_last_action (GtkWidget  *widget,
                  const char *name,
                  GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);
  RillMessageRow *row = rill_conversation_view_get_last_row (self->conversation_view,
                                                             RILL_ROLE_USER);

  if (row != NULL)
    _rill_window_edit (self, row);
}

/* Versions: the message with the keyboard focus, else the last one shown
 * that has versions (usually a regenerated reply). */
static RillMessageRow *
version_row (RillWindow *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  GtkWidget *row = focus ? gtk_widget_get_ancestor (focus, RILL_TYPE_MESSAGE_ROW) : NULL;

  if (row != NULL && rill_message_row_get_n_versions (RILL_MESSAGE_ROW (row)) > 1)
    return RILL_MESSAGE_ROW (row);
  return rill_conversation_view_get_last_row_with_versions (self->conversation_view);
}

static void
show_version_action (GtkWidget  *widget,
                     const char *name,
                     GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);
  RillMessageRow *row = version_row (self);

  if (row != NULL)
    rill_conversation_view_show_version (self->conversation_view, row,
                                         g_str_equal (name, "win.previous-version") ? -1 : 1);
}

/* Rename */

typedef struct
{
  RillWindow  *self;
  GtkEditable *entry;
  gint64       conversation_id;
} RenameRequest;

static void
rename_request_free (gpointer  data,
                     GClosure *closure)
{
  RenameRequest *request = data;

  g_object_unref (request->self);
  g_free (request);
}

static void
renamed_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(RillWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  /* The list and the title follow the store's "conversation-changed". */
  if (!rill_store_write_finish (RILL_STORE (object), result, &error))
    _rill_window_show_banner (self, error->message);
}

static void
rename_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    RenameRequest    *request)
{
  RillWindow *self = request->self;
  RillStore *store = _rill_window_get_store (self);
  g_autofree char *title = NULL;

  if (g_strcmp0 (response, "rename") != 0 || store == NULL)
    return;
  title = g_strstrip (g_strdup (gtk_editable_get_text (request->entry)));
  if (*title == '\0')
    return;
  rill_store_update_conversation_async (store, request->conversation_id,
                                        RILL_CONVERSATION_TITLE, title,
                                        NULL, renamed_cb, g_object_ref (self));
  if (request->conversation_id == _rill_window_get_conversation_id (self))
    adw_window_title_set_title (self->window_title, title);
}

static void
rename_entry_activate_cb (GtkEntry         *entry,
                          AdwMessageDialog *dialog)
{
  adw_message_dialog_response (dialog, "rename");
}

static void
rename_action (GtkWidget  *widget,
               const char *name,
               GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);
  RenameRequest *request;
  GtkWidget *dialog;
  GtkWidget *entry;

  if (_rill_window_get_conversation_id (self) == 0)
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Rename Conversation"), NULL);
  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry),
                         rill_conversation_view_get_title (self->conversation_view));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "rename", _("_Rename"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "rename",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "rename");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  /* The conversation renamed is the one shown when the dialog opened. */
  request = g_new0 (RenameRequest, 1);
  request->self = g_object_ref (self);
  request->entry = GTK_EDITABLE (entry);
  request->conversation_id = _rill_window_get_conversation_id (self);
  g_signal_connect_data (dialog, "response", G_CALLBACK (rename_response_cb), request,
                         rename_request_free, 0);
  g_signal_connect (entry, "activate", G_CALLBACK (rename_entry_activate_cb), dialog);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Title"), -1);
  rill_accessible_name_buttons (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

/* Delete: the conversation goes to the trash at once, and the toast's Undo
 * brings it back. Nothing waits for the toast, so quitting while it shows
 * loses nothing: the conversation is in the Trash. */

typedef struct
{
  RillWindow *self;
  gint64      conversation_id;
} Restore;

static void
trash_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(RillWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  /* The list follows the store's "conversation-deleted"; a row hidden for a
   * move that failed comes back. */
  if (!rill_store_write_finish (RILL_STORE (object), result, &error))
    {
      rill_sidebar_unhide_conversation (self->sidebar);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _rill_window_show_banner (self, error->message);
    }
}

static void
restored_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autofree Restore *restore = user_data;
  g_autoptr(RillWindow) self = restore->self;
  g_autoptr(GError) error = NULL;

  if (!rill_store_write_finish (RILL_STORE (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _rill_window_show_banner (self, error->message);
      return;
    }
  /* Back where it was, unless the person went on to another one. */
  if (_rill_window_get_conversation_id (self) == 0 &&
      rill_conversation_view_get_reply (self->conversation_view) == NULL &&
      !self->creating)
    rill_window_open_conversation (self, restore->conversation_id, 0);
}

static void
delete_toast_dismissed_cb (AdwToast   *toast,
                           RillWindow *self)
{
  if (self->delete_toast == toast)
    {
      self->delete_toast = NULL;
      self->pending_delete_id = 0;
    }
}

static void
delete_toast_undo_cb (AdwToast   *toast,
                      RillWindow *self)
{
  gint64 id = self->pending_delete_id;
  RillStore *store = _rill_window_get_store (self);
  Restore *restore;

  self->pending_delete_id = 0;
  /* The row comes back with the store's "conversation-added"; a row still
   * hidden would stay hidden. */
  rill_sidebar_unhide_conversation (self->sidebar);
  if (id == 0 || store == NULL)
    return;
  restore = g_new0 (Restore, 1);
  restore->self = g_object_ref (self);
  restore->conversation_id = id;
  /* Queued after the move to the trash, so it always finds it there. */
  rill_store_restore_conversation_async (store, id, NULL, restored_cb, restore);
}

static void
delete_action (GtkWidget  *widget,
               const char *name,
               GVariant   *param)
{
  RillWindow *self = RILL_WINDOW (widget);
  RillStore *store = _rill_window_get_store (self);
  g_autofree char *title = NULL;
  gint64 id = _rill_window_get_conversation_id (self);
  AdwToast *toast;

  if (id == 0 || store == NULL)
    return;

  /* One undo at a time; the one before stays in the Trash. */
  if (self->delete_toast != NULL)
    adw_toast_dismiss (self->delete_toast);

  title = g_strdup (rill_conversation_view_get_title (self->conversation_view));
  if (rill_conversation_view_get_streaming (self->conversation_view))
    _rill_window_stop (self);

  /* No cancellable: a delete goes through even if the window closes now. */
  rill_store_trash_conversation_async (store, id, NULL, trash_cb, g_object_ref (self));
  /* Gone from the list at once, not a moment later when the store says
   * so; the reload that follows finds it gone. */
  rill_sidebar_hide_conversation (self->sidebar, id);
  self->pending_delete_id = id;
  _rill_window_new_conversation (self);

  toast = rill_toast_new_format (_("“%s” deleted"), title);
  adw_toast_set_button_label (toast, _("_Undo"));
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect_object (toast, "button-clicked", G_CALLBACK (delete_toast_undo_cb), self, 0);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (delete_toast_dismissed_cb), self, 0);
  self->delete_toast = toast;
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Export */

static void
export_written_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(RillWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _rill_window_show_banner (self, error->message);
      return;
    }
  _rill_window_toast (self, _("Conversation exported"));
}

typedef struct
{
  RillWindow *self;
  gint64      conversation_id;
  gboolean    json;
} ExportRequest;

static void
export_request_free (gpointer  data,
                     GClosure *closure)
{
  ExportRequest *request = data;

  g_object_unref (request->self);
  g_free (request);
}

typedef struct
{
  RillConversation *conversation;
  GPtrArray        *messages;
  GHashTable       *attachments;
  GFile            *file;
} MarkdownExport;

static void
markdown_export_free (gpointer data)
{
  MarkdownExport *job = data;

  g_object_unref (job->conversation);
  g_ptr_array_unref (job->messages);
  g_hash_table_unref (job->attachments);
  g_object_unref (job->file);
  g_free (job);
}

static void
markdown_export_thread (GTask        *task,
                        gpointer      source,
                        gpointer      data,
                        GCancellable *cancellable)
{
  MarkdownExport *job = data;
  GError *error = NULL;

  if (rill_export_markdown_to_file (job->conversation, job->messages, job->attachments, job->file,
                                    cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
markdown_written_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  RillWindow *self = RILL_WINDOW (object);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _rill_window_show_banner (self, error->message);
      return;
    }
  _rill_window_toast (self, _("Conversation exported"));
}

static void
export_response_cb (GtkNativeDialog *chooser,
                    int              response,
                    ExportRequest   *request)
{
  RillWindow *self = request->self;
  RillStore *store = _rill_window_get_store (self);
  g_autoptr(GFile) file = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GHashTable) attachments = NULL;
  char *text;

  if (response != GTK_RESPONSE_ACCEPT ||
      (file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))) == NULL)
    goto out;

  if ((conversation = rill_store_get_conversation (store, request->conversation_id,
                                                   &error)) == NULL ||
      (messages = request->json
                  ? rill_store_list_messages (store, request->conversation_id, &error)
                  : rill_store_list_path (store, request->conversation_id, 0, &error)) == NULL)
    {
      _rill_window_show_banner (self, error->message);
      goto out;
    }

  /* Markdown is for reading: the conversation as shown, with its images
   * in a folder beside it. JSON is for other tools: every version, with
   * the tree as id and parent_id, and every attachment's bytes. */
  attachments = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                       (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < messages->len; i++)
    {
      gint64 id = rill_message_get_id (g_ptr_array_index (messages, i));
      GPtrArray *found = rill_store_list_attachments (store, id, NULL);

      if (found != NULL && found->len > 0)
        g_hash_table_insert (attachments, g_memdup2 (&id, sizeof id), found);
      else if (found != NULL)
        g_ptr_array_unref (found);
    }
  if (request->json)
    {
      text = rill_export_json_with_attachments (conversation, messages, attachments);
      bytes = g_bytes_new_take (text, strlen (text));
      g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE,
                                           G_FILE_CREATE_REPLACE_DESTINATION, self->cancellable,
                                           export_written_cb, g_object_ref (self));
    }
  else
    {
      /* Images can be large: written in a thread. */
      MarkdownExport *job = g_new0 (MarkdownExport, 1);
      g_autoptr(GTask) task = g_task_new (self, self->cancellable, markdown_written_cb, NULL);

      job->conversation = g_steal_pointer (&conversation);
      job->messages = g_steal_pointer (&messages);
      job->attachments = g_steal_pointer (&attachments);
      job->file = g_steal_pointer (&file);
      g_task_set_task_data (task, job, markdown_export_free);
      g_task_run_in_thread (task, markdown_export_thread);
    }

out:
  /* The chooser was kept alive for its answer; this is its last word. */
  g_object_unref (chooser);
}

static void
export (RillWindow *self,
        gboolean    json)
{
  GtkFileChooserNative *chooser;
  ExportRequest *request;
  g_autofree char *name = NULL;
  g_autofree char *safe = NULL;

  if (_rill_window_get_conversation_id (self) == 0 || _rill_window_get_store (self) == NULL)
    return;

  safe = g_strdup (rill_conversation_view_get_title (self->conversation_view));
  g_strdelimit (safe, "/\\:", '-');
  name = g_strconcat (safe, json ? ".json" : ".md", NULL);

  chooser = gtk_file_chooser_native_new (json ? _("Export as JSON") : _("Export as Markdown"),
                                         GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);

  /* The conversation exported is the one shown when the chooser opened. */
  request = g_new0 (ExportRequest, 1);
  request->self = g_object_ref (self);
  request->conversation_id = _rill_window_get_conversation_id (self);
  request->json = json;
  g_signal_connect_data (chooser, "response", G_CALLBACK (export_response_cb), request,
                         export_request_free, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
export_markdown_action (GtkWidget  *widget,
                        const char *name,
                        GVariant   *param)
{
  export (RILL_WINDOW (widget), FALSE);
}

static void
export_json_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  export (RILL_WINDOW (widget), TRUE);
}

/* Menus, buttons and shortcuts follow these. */
void
_rill_window_update_actions (RillWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean has_conversation = _rill_window_get_conversation_id (self) != 0 &&
                              _rill_window_get_store (self) != NULL;
  gboolean streaming_here = rill_conversation_view_get_streaming (self->conversation_view);
  RillMessageRow *last_reply = rill_conversation_view_get_last_row (self->conversation_view,
                                                                    RILL_ROLE_ASSISTANT);
  gboolean can_regenerate = last_reply != NULL && !streaming_here &&
                            gtk_widget_get_next_sibling (GTK_WIDGET (last_reply)) == NULL &&
                            rill_message_row_get_message_id (last_reply) != 0;
  gboolean has_reply = rill_conversation_view_get_reply (self->conversation_view) != NULL ||
                       rill_conversation_view_get_tool_run (self->conversation_view) != NULL;

  gtk_widget_action_set_enabled (widget, "win.stop", has_reply);
  gtk_widget_action_set_enabled (widget, "win.send",
                                 !streaming_here && !self->creating && !self->collecting);
  gtk_widget_action_set_enabled (widget, "win.rename-conversation", has_conversation);
  gtk_widget_action_set_enabled (widget, "win.delete-conversation", has_conversation);
  gtk_widget_action_set_enabled (widget, "win.export-markdown", has_conversation);
  gtk_widget_action_set_enabled (widget, "win.export-json", has_conversation);
  gtk_widget_action_set_enabled (widget, "win.regenerate", can_regenerate);
  gtk_widget_action_set_enabled (widget, "win.copy-last", last_reply != NULL);
  gtk_widget_action_set_enabled (widget, "win.edit-last",
                                 !streaming_here &&
                                 rill_conversation_view_get_last_row (self->conversation_view,
                                                                      RILL_ROLE_USER) != NULL);
  gtk_widget_action_set_enabled (widget, "win.dismiss-banner",
                                 gtk_revealer_get_reveal_child (self->banner_revealer));
}

static const struct {
  const char *action;
  const char *accels[3];
} window_accels[] = {
  { "window.close", { "<Control>w", NULL } },
  { "win.new-conversation", { "<Control>n", NULL } },
  { "win.new-from-last-preset", { "<Control><Shift>n", NULL } },
  { "win.search", { "<Control>f", NULL } },
  { "win.toggle-sidebar", { "F9", NULL } },
  { "win.rename-conversation", { "F2", NULL } },
  { "win.delete-conversation", { "<Control>Delete", NULL } },
  { "win.export-markdown", { "<Control>e", NULL } },
  { "win.export-json", { "<Control><Shift>e", NULL } },
  { "win.regenerate", { "<Control>r", NULL } },
  { "win.copy-last", { "<Control><Shift>c", NULL } },
  { "win.edit-last", { "<Alt>Up", NULL } },
  { "win.previous-version", { "<Alt>Left", NULL } },
  { "win.next-version", { "<Alt>Right", NULL } },
  { "win.choose-model", { "<Control>m", NULL } },
  { "win.focus-composer", { "<Control>l", NULL } },
};

/* Set on the application, not on a shortcut controller of the window: the
 * application's accelerators are handled before the focused widget sees the
 * key (so Ctrl+Delete deletes the conversation even from the composer, as it
 * always did), and menus and the shortcuts window show them. */
void
rill_window_install_accels (GtkApplication *application)
{
  g_return_if_fail (GTK_IS_APPLICATION (application));

  for (guint i = 0; i < G_N_ELEMENTS (window_accels); i++)
    gtk_application_set_accels_for_action (application, window_accels[i].action,
                                           window_accels[i].accels);
}

void
_rill_window_class_actions_init (RillWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_install_action (widget_class, "win.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "win.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "win.new-conversation", NULL,
                                   new_conversation_action);
  gtk_widget_class_install_action (widget_class, "win.new-from-preset", "s",
                                   new_from_preset_action);
  gtk_widget_class_install_action (widget_class, "win.new-from-last-preset", NULL,
                                   new_from_last_preset_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-sidebar", NULL, toggle_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.focus-composer", NULL, focus_composer_action);
  gtk_widget_class_install_action (widget_class, "win.dismiss-banner", NULL, dismiss_banner_action);
  gtk_widget_class_install_action (widget_class, "win.choose-model", NULL, choose_model_action);
  gtk_widget_class_install_action (widget_class, "win.regenerate", NULL, regenerate_action);
  gtk_widget_class_install_action (widget_class, "win.copy-last", NULL, copy_last_action);
  gtk_widget_class_install_action (widget_class, "win.edit-last", NULL, edit_last_action);
  gtk_widget_class_install_action (widget_class, "win.previous-version", NULL,
                                   show_version_action);
  gtk_widget_class_install_action (widget_class, "win.next-version", NULL, show_version_action);
  gtk_widget_class_install_action (widget_class, "win.rename-conversation", NULL, rename_action);
  gtk_widget_class_install_action (widget_class, "win.delete-conversation", NULL, delete_action);
  gtk_widget_class_install_action (widget_class, "win.export-markdown", NULL,
                                   export_markdown_action);
  gtk_widget_class_install_action (widget_class, "win.export-json", NULL, export_json_action);

  /* Escape is not an application accelerator: those are handled before the
   * focused widget sees the key, and Escape must first cancel an input
   * method's candidates or clear the search. As a window binding it only
   * stops a reply when nothing closer wanted the key. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.stop", NULL);
}
