/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-composer.c
 *
 * Return sends and Shift+Return starts a new line, except while an input
 * method composes: then Return confirms its text (pinyin candidates, for
 * one) and belongs to the input method, never to Send. The view reports the
 * composition through "preedit-changed"; while there is one, the key goes on
 * to the view, which gives it to the input method. (An input method that
 * takes the key before us never lets us see it at all, which is just as
 * right.)
 *
 * Attachments: files come from the Attach button (the file chooser portal), from
 * a drop anywhere on the window, or from Ctrl+V. A paste is ours only when
 * the clipboard holds files, or an image and no text: copying a cell in a
 * spreadsheet offers an image of it too, and that must paste as text. Each
 * file becomes a chip at once and is read by RillAttachment on a worker
 * thread; one that is refused leaves no chip, only a message naming it,
 * and the text typed is never touched. */

#include <glib/gi18n.h>

#include "rill-attachment-chip.h"
#include "rill-tools-button.h"
#include "rill-composer-private.h"

/* What a paste may bring: an image's bytes, or a list of copied files. */
#define MAX_COPIED_FILES_BYTES (1024 * 1024)

struct _RillComposer
{
  AdwBin       parent_instance;

  /* Template widgets */
  GtkRevealer         *edit_revealer;
  GtkTextView         *text_view;
  GtkButton           *send_button;
  GtkButton           *attach_button;
  RillToolsButton     *tools_button;
  GtkWidget           *chips_scroller;
  GtkFlowBox          *chips;
  GtkRevealer         *error_revealer;
  GtkLabel            *error_label;

  /* Owned */
  GListStore           *attachments;
  GCancellable         *cancellable;
  GtkFileChooserNative *chooser;
  RillAttachmentLimits  limits;

  /* Borrowed: the window we added the drop target to */
  GtkWidget           *drop_root;
  GtkEventController  *drop_target;

  gint64               editing_message_id;
  guint                busy : 1;
  guint                can_send : 1;
  guint                preedit : 1;
  guint                loading : 1;
};

G_DEFINE_FINAL_TYPE (RillComposer, rill_composer, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_BUSY,
  PROP_CAN_SEND,
  PROP_EDITING_MESSAGE_ID,
  PROP_LOADING_ATTACHMENTS,
  N_PROPS
};

enum {
  SEND,
  STOP,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* One button: Send, or Stop while a reply streams here. */
static void
update_button (RillComposer *self)
{
  GtkWidget *button = GTK_WIDGET (self->send_button);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.send",
                                 self->can_send && !self->busy && !self->loading);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.stop", self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.cancel-edit",
                                 self->editing_message_id != 0);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button),
                                  self->busy ? "composer.stop" : "composer.send");
  gtk_button_set_icon_name (self->send_button,
                            self->busy ? "media-playback-stop-symbolic" : "go-up-symbolic");
  gtk_widget_set_tooltip_text (button, self->busy ? _("Stop") : _("Send"));
  /* An icon has no name of its own: a screen reader says what it does. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  self->busy ? _("Stop") : _("Send"), -1);
  gtk_widget_remove_css_class (button, self->busy ? "suggested-action" : "destructive-action");
  gtk_widget_add_css_class (button, self->busy ? "destructive-action" : "suggested-action");
}

char *
rill_composer_dup_text (RillComposer *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_val_if_fail (RILL_IS_COMPOSER (self), NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

void
rill_composer_set_text (RillComposer *self,
                        const char   *text)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text ? text : "", -1);
}

static void
set_editing_message_id (RillComposer *self,
                        gint64        message_id)
{
  if (self->editing_message_id == message_id)
    return;
  self->editing_message_id = message_id;
  gtk_revealer_set_reveal_child (self->edit_revealer, message_id != 0);
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EDITING_MESSAGE_ID]);
}

void
rill_composer_edit (RillComposer *self,
                    gint64        message_id,
                    const char   *text)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));
  g_return_if_fail (message_id != 0);

  set_editing_message_id (self, message_id);
  rill_composer_set_text (self, text);
  gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

void
rill_composer_cancel_edit (RillComposer *self,
                           gboolean      clear_text)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  set_editing_message_id (self, 0);
  if (clear_text)
    rill_composer_set_text (self, "");
}

gint64
rill_composer_get_editing_message_id (RillComposer *self)
{
  g_return_val_if_fail (RILL_IS_COMPOSER (self), 0);
  return self->editing_message_id;
}

void
rill_composer_set_busy (RillComposer *self,
                        gboolean      busy)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  busy = !!busy;
  if (self->busy == busy)
    return;
  self->busy = busy;
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

void
rill_composer_set_can_send (RillComposer *self,
                            gboolean      can_send)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  can_send = !!can_send;
  if (self->can_send == can_send)
    return;
  self->can_send = can_send;
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_SEND]);
}

/* ---- Attachments ------------------------------------------------------ */

RillAttachmentChip *
_rill_composer_get_chip (RillComposer *self,
                         guint         index)
{
  GtkFlowBoxChild *child = gtk_flow_box_get_child_at_index (self->chips, index);

  return child ? RILL_ATTACHMENT_CHIP (gtk_flow_box_child_get_child (child)) : NULL;
}

/* After any change of the chips: the list of ready attachments (in the
 * chips' order), whether one is still loading, and what shows. */
static void
update_attachments (RillComposer *self)
{
  g_autoptr(GPtrArray) ready = g_ptr_array_new ();
  RillAttachmentChip *chip;
  gboolean loading = FALSE;
  guint i;

  for (i = 0; (chip = _rill_composer_get_chip (self, i)) != NULL; i++)
    {
      RillAttachment *attachment = rill_attachment_chip_get_attachment (chip);

      if (attachment != NULL)
        g_ptr_array_add (ready, attachment);
      else
        loading = TRUE;
    }
  gtk_widget_set_visible (self->chips_scroller, i > 0);
  g_list_store_splice (self->attachments, 0,
                       g_list_model_get_n_items (G_LIST_MODEL (self->attachments)),
                       ready->pdata, ready->len);
  if (self->loading != loading)
    {
      self->loading = loading;
      update_button (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING_ATTACHMENTS]);
    }
}

/* Refusals stay until dismissed or sent, one line each, so that several
 * files dropped at once each say what became of them. */
static void
show_error (RillComposer *self,
            const char   *message)
{
  const char *shown = gtk_label_get_label (self->error_label);
  g_autofree char *text = NULL;

  if (gtk_revealer_get_reveal_child (self->error_revealer) && shown && *shown)
    text = g_strconcat (shown, "\n", message, NULL);
  else
    text = g_strdup (message);
  gtk_label_set_label (self->error_label, text);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static void
dismiss_errors (RillComposer *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  gtk_label_set_label (self->error_label, "");
}

static void
remove_chip (RillComposer       *self,
             RillAttachmentChip *chip)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;

  g_cancellable_cancel (rill_attachment_chip_get_cancellable (chip));
  /* The button pressed goes away: the focus goes back to the text. */
  if (focus != NULL && gtk_widget_is_ancestor (focus, GTK_WIDGET (chip)))
    gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
  gtk_flow_box_remove (self->chips, GTK_WIDGET (chip));
  update_attachments (self);
}

static RillAttachmentChip *
add_chip (RillComposer *self,
          const char   *name)
{
  RillAttachmentChip *chip = rill_attachment_chip_new (name);

  g_signal_connect_object (chip, "remove", G_CALLBACK (remove_chip), self, G_CONNECT_SWAPPED);
  gtk_flow_box_append (self->chips, GTK_WIDGET (chip));
  update_attachments (self);
  return chip;
}

static void
loaded (RillAttachmentChip *chip,
        RillAttachment     *attachment,
        GError             *error)
{
  GtkWidget *composer;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Removed meanwhile (its load is cancelled, but may have just ended). */
  composer = gtk_widget_get_ancestor (GTK_WIDGET (chip), RILL_TYPE_COMPOSER);
  if (composer == NULL)
    return;
  if (attachment == NULL)
    {
      /* Nothing half-attached: the chip goes, the message stays. */
      remove_chip (RILL_COMPOSER (composer), chip);
      show_error (RILL_COMPOSER (composer), error->message);
      return;
    }
  rill_attachment_chip_set_attachment (chip, attachment);
  update_attachments (RILL_COMPOSER (composer));
}

static void
load_file_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(RillAttachmentChip) chip = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = rill_attachment_load_finish (result, &error);

  loaded (chip, attachment, error);
}

static void
load_bytes_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(RillAttachmentChip) chip = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = rill_attachment_load_bytes_finish (result, &error);

  loaded (chip, attachment, error);
}

void
rill_composer_attach_file (RillComposer *self,
                           GFile        *file)
{
  g_autofree char *name = NULL;
  RillAttachmentChip *chip;

  g_return_if_fail (RILL_IS_COMPOSER (self));
  g_return_if_fail (G_IS_FILE (file));

  /* The display name comes with the load; the chip needs one now. */
  name = g_file_get_basename (file);
  chip = add_chip (self, name ? name : "");
  rill_attachment_load_async (file, &self->limits, rill_attachment_chip_get_cancellable (chip),
                              load_file_cb, g_object_ref (chip));
}

void
rill_composer_attach_files (RillComposer *self,
                            GListModel   *files)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));
  g_return_if_fail (G_IS_LIST_MODEL (files));

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(GFile) file = g_list_model_get_item (files, i);

      rill_composer_attach_file (self, file);
    }
}

void
_rill_composer_attach_bytes (RillComposer *self,
                             GBytes       *bytes,
                             const char   *name)
{
  RillAttachmentChip *chip = add_chip (self, name);

  rill_attachment_load_bytes_async (bytes, name, &self->limits,
                                    rill_attachment_chip_get_cancellable (chip),
                                    load_bytes_cb, g_object_ref (chip));
}

static void
attach_file_list (RillComposer *self,
                  GSList       *files)
{
  for (GSList *l = files; l != NULL; l = l->next)
    rill_composer_attach_file (self, l->data);
}

GListModel *
rill_composer_get_attachments (RillComposer *self)
{
  g_return_val_if_fail (RILL_IS_COMPOSER (self), NULL);
  return G_LIST_MODEL (self->attachments);
}

gboolean
rill_composer_get_loading_attachments (RillComposer *self)
{
  g_return_val_if_fail (RILL_IS_COMPOSER (self), FALSE);
  return self->loading;
}

void
rill_composer_clear_attachments (RillComposer *self)
{
  RillAttachmentChip *chip;

  g_return_if_fail (RILL_IS_COMPOSER (self));

  while ((chip = _rill_composer_get_chip (self, 0)) != NULL)
    remove_chip (self, chip);
  dismiss_errors (self);
}

void
rill_composer_set_attachment_limits (RillComposer               *self,
                                     const RillAttachmentLimits *limits)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));
  g_return_if_fail (limits != NULL);

  self->limits = *limits;
}

/* The file chooser: the portal's, so that a sandbox needs no access to
 * the files beyond those chosen. */
static void
chooser_response_cb (RillComposer         *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));

      rill_composer_attach_files (self, files);
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->chooser);
}

static void
attach_action (GtkWidget  *widget,
               const char *name,
               GVariant   *param)
{
  RillComposer *self = RILL_COMPOSER (widget);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Attach Files"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Attach"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
dismiss_errors_action (GtkWidget  *widget,
                       const char *name,
                       GVariant   *param)
{
  dismiss_errors (RILL_COMPOSER (widget));
}

/* ---- Dropping --------------------------------------------------------- */

static gboolean
drop_cb (RillComposer  *self,
         const GValue  *value,
         double         x,
         double         y,
         GtkDropTarget *target)
{
  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  attach_file_list (self, gdk_file_list_get_files (g_value_get_boxed (value)));
  return TRUE;
}

/* Files dropped anywhere on the window are attached, not only on this
 * strip: the target sits on the window, and runs in the capture phase so
 * that the text view's own target (which would paste their addresses as
 * text) never sees files. A drag of text still goes to the text view. */
static void
rill_composer_root (GtkWidget *widget)
{
  RillComposer *self = RILL_COMPOSER (widget);
  GtkDropTarget *target;

  GTK_WIDGET_CLASS (rill_composer_parent_class)->root (widget);

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  gtk_event_controller_set_name (GTK_EVENT_CONTROLLER (target), "rill-composer-drop");
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (target), GTK_PHASE_CAPTURE);
  g_signal_connect_object (target, "drop", G_CALLBACK (drop_cb), self, G_CONNECT_SWAPPED);
  self->drop_root = GTK_WIDGET (gtk_widget_get_root (widget));
  self->drop_target = GTK_EVENT_CONTROLLER (target);
  gtk_widget_add_controller (self->drop_root, self->drop_target);
}

static void
rill_composer_unroot (GtkWidget *widget)
{
  RillComposer *self = RILL_COMPOSER (widget);

  if (self->drop_target != NULL)
    gtk_widget_remove_controller (self->drop_root, self->drop_target);
  self->drop_target = NULL;
  self->drop_root = NULL;

  GTK_WIDGET_CLASS (rill_composer_parent_class)->unroot (widget);
}

/* ---- Pasting ---------------------------------------------------------- */

typedef struct
{
  RillComposer *self;
  GByteArray   *data;
  char         *mime_type;
  gsize         limit;
} PasteRead;

static void
paste_read_free (PasteRead *read)
{
  g_object_unref (read->self);
  g_byte_array_unref (read->data);
  g_free (read->mime_type);
  g_free (read);
}

/* "copy\nfile:///a\nfile:///b": GNOME's list of files copied in Files. */
static void
attach_copied_files (RillComposer *self,
                     GBytes       *bytes)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_autoptr(GFile) file = NULL;

      g_strstrip (lines[i]);
      if (*lines[i] == '\0')
        continue;
      file = g_file_new_for_uri (lines[i]);
      rill_composer_attach_file (self, file);
    }
}

static const char *
extension_for (const char *mime_type)
{
  if (g_strcmp0 (mime_type, "image/jpeg") == 0)
    return "jpg";
  if (g_strcmp0 (mime_type, "image/gif") == 0)
    return "gif";
  if (g_strcmp0 (mime_type, "image/webp") == 0)
    return "webp";
  return "png";
}

static void paste_read_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      data);

static void
paste_read_done (PasteRead *read)
{
  g_autoptr(GBytes) bytes = g_bytes_new (read->data->data, read->data->len);

  if (g_str_has_prefix (read->mime_type, "image/"))
    {
      g_autofree char *name = NULL;

      /* Translators: the name of an image pasted from the clipboard; the
       * extension follows. */
      name = g_strdup_printf ("%s.%s", _("Pasted image"), extension_for (read->mime_type));
      _rill_composer_attach_bytes (read->self, bytes, name);
    }
  else
    attach_copied_files (read->self, bytes);
}

/* Reads the pasted stream to its end, up to the limit. */
static void
paste_read_next (GInputStream *stream,
                 PasteRead    *read)
{
  g_input_stream_read_bytes_async (stream, 64 * 1024, G_PRIORITY_DEFAULT,
                                   read->self->cancellable, paste_read_cb, read);
}

static void
paste_read_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  PasteRead *read = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);

  if (bytes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (read->self, error->message);
      paste_read_free (read);
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      paste_read_done (read);
      paste_read_free (read);
      return;
    }
  g_byte_array_append (read->data, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (read->data->len > read->limit)
    {
      g_autofree char *size = g_format_size_full (read->limit, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *message = NULL;

      /* Translators: %s is a size ("100.0 MiB"). */
      message = g_strdup_printf (_("The pasted image is larger than %s, the limit for files"),
                                 size);
      show_error (read->self, message);
      paste_read_free (read);
      return;
    }
  paste_read_next (G_INPUT_STREAM (source), read);
}

static void
clipboard_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  g_autoptr(RillComposer) self = data;
  g_autoptr(GError) error = NULL;
  const char *mime_type = NULL;
  g_autoptr(GInputStream) stream = NULL;
  PasteRead *read;

  stream = gdk_clipboard_read_finish (GDK_CLIPBOARD (source), result, &mime_type, &error);
  if (stream == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      return;
    }
  read = g_new0 (PasteRead, 1);
  read->self = g_object_ref (self);
  read->data = g_byte_array_new ();
  read->mime_type = g_strdup (mime_type);
  read->limit = g_str_has_prefix (mime_type, "image/") ? self->limits.max_file_bytes
                                                       : MAX_COPIED_FILES_BYTES;
  paste_read_next (stream, read);
}

static void
clipboard_files_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(RillComposer) self = data;
  g_autoptr(GError) error = NULL;
  const GValue *value;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (source), result, &error);
  if (value == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      return;
    }
  attach_file_list (self, gdk_file_list_get_files (g_value_get_boxed (value)));
}

/* Before the view's own paste: files, or an image without text, are ours;
 * anything else goes on to the view as text. */
static void
paste_clipboard_cb (RillComposer *self,
                    GtkTextView  *view)
{
  static const char *image_types[] = {
    "image/png", "image/jpeg", "image/webp", "image/gif", NULL
  };
  static const char *copied_files[] = { "x-special/gnome-copied-files", NULL };
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (view));
  GdkContentFormats *offered = gdk_clipboard_get_formats (clipboard);
  g_autoptr(GdkContentFormats) as_types = NULL;
  g_autoptr(GdkContentFormats) as_mime = NULL;
  gboolean has_image = FALSE;

  as_types = gdk_content_formats_union_deserialize_gtypes (gdk_content_formats_ref (offered));
  as_mime = gdk_content_formats_union_serialize_mime_types (gdk_content_formats_ref (offered));
  for (guint i = 0; image_types[i] != NULL; i++)
    has_image |= gdk_content_formats_contain_mime_type (as_mime, image_types[i]);

  if (gdk_content_formats_contain_gtype (as_types, GDK_TYPE_FILE_LIST))
    gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT,
                                    self->cancellable, clipboard_files_cb, g_object_ref (self));
  else if (gdk_content_formats_contain_mime_type (offered, copied_files[0]))
    gdk_clipboard_read_async (clipboard, copied_files, G_PRIORITY_DEFAULT, self->cancellable,
                              clipboard_read_cb, g_object_ref (self));
  else if (has_image && !gdk_content_formats_contain_gtype (as_types, G_TYPE_STRING))
    gdk_clipboard_read_async (clipboard, image_types, G_PRIORITY_DEFAULT, self->cancellable,
                              clipboard_read_cb, g_object_ref (self));
  else
    return;
  g_signal_stop_emission_by_name (view, "paste-clipboard");
}

GtkWidget *
_rill_composer_get_chips (RillComposer *self)
{
  return self->chips_scroller;
}

GtkLabel *
_rill_composer_get_error_label (RillComposer *self)
{
  return self->error_label;
}

GtkButton *
_rill_composer_get_attach_button (RillComposer *self)
{
  return self->attach_button;
}

GtkTextView *
_rill_composer_get_text_view (RillComposer *self)
{
  return self->text_view;
}

GtkButton *
_rill_composer_get_send_button (RillComposer *self)
{
  return self->send_button;
}

GtkRevealer *
_rill_composer_get_edit_revealer (RillComposer *self)
{
  return self->edit_revealer;
}

static gboolean
key_pressed_cb (RillComposer       *self,
                guint               keyval,
                guint               keycode,
                GdkModifierType     state,
                GtkEventController *controller)
{
  if (keyval != GDK_KEY_Return && keyval != GDK_KEY_KP_Enter && keyval != GDK_KEY_ISO_Enter)
    return GDK_EVENT_PROPAGATE;
  if (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK | GDK_ALT_MASK))
    return GDK_EVENT_PROPAGATE;
  if (self->preedit)
    return GDK_EVENT_PROPAGATE;

  /* Nothing is sent while an attachment is still being read. */
  if (!self->busy && !self->loading)
    g_signal_emit (self, signals[SEND], 0);
  return GDK_EVENT_STOP;
}

static void
preedit_changed_cb (RillComposer *self,
                    const char   *preedit)
{
  self->preedit = preedit != NULL && *preedit != '\0';
}

static void
send_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  g_signal_emit (widget, signals[SEND], 0);
}

static void
stop_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  g_signal_emit (widget, signals[STOP], 0);
}

static void
cancel_edit_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  rill_composer_cancel_edit (RILL_COMPOSER (widget), TRUE);
}

static gboolean
rill_composer_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (RILL_COMPOSER (widget)->text_view));
}

static void
rill_composer_dispose (GObject *object)
{
  RillComposer *self = RILL_COMPOSER (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  G_OBJECT_CLASS (rill_composer_parent_class)->dispose (object);
}

static void
rill_composer_finalize (GObject *object)
{
  RillComposer *self = RILL_COMPOSER (object);

  g_clear_object (&self->attachments);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (rill_composer_parent_class)->finalize (object);
}

static void
rill_composer_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RillComposer *self = RILL_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_CAN_SEND:
      g_value_set_boolean (value, self->can_send);
      break;
    case PROP_EDITING_MESSAGE_ID:
      g_value_set_int64 (value, self->editing_message_id);
      break;
    case PROP_LOADING_ATTACHMENTS:
      g_value_set_boolean (value, self->loading);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_composer_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RillComposer *self = RILL_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      rill_composer_set_busy (self, g_value_get_boolean (value));
      break;
    case PROP_CAN_SEND:
      rill_composer_set_can_send (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_composer_class_init (RillComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_composer_dispose;
  object_class->finalize = rill_composer_finalize;
  object_class->get_property = rill_composer_get_property;
  object_class->set_property = rill_composer_set_property;
  widget_class->grab_focus = rill_composer_grab_focus;
  widget_class->root = rill_composer_root;
  widget_class->unroot = rill_composer_unroot;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CAN_SEND] =
    g_param_spec_boolean ("can-send", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_EDITING_MESSAGE_ID] =
    g_param_spec_int64 ("editing-message-id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOADING_ATTACHMENTS] =
    g_param_spec_boolean ("loading-attachments", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SEND] = g_signal_new ("send", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[STOP] = g_signal_new ("stop", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/rill-composer.ui");
  gtk_widget_class_bind_template_child (widget_class, RillComposer, edit_revealer);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, text_view);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, send_button);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, attach_button);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, tools_button);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, chips_scroller);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, chips);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, error_label);
  gtk_widget_class_bind_template_callback (widget_class, preedit_changed_cb);

  gtk_widget_class_install_action (widget_class, "composer.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "composer.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "composer.cancel-edit", NULL, cancel_edit_action);
  gtk_widget_class_install_action (widget_class, "composer.attach", NULL, attach_action);
  gtk_widget_class_install_action (widget_class, "composer.dismiss-errors", NULL,
                                   dismiss_errors_action);

  g_type_ensure (RILL_TYPE_ATTACHMENT_CHIP);
  g_type_ensure (RILL_TYPE_TOOLS_BUTTON);
}

GtkWidget *
rill_composer_get_tools_button (RillComposer *self)
{
  g_return_val_if_fail (RILL_IS_COMPOSER (self), NULL);
  return GTK_WIDGET (self->tools_button);
}

static void
rill_composer_init (RillComposer *self)
{
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->can_send = TRUE;
  self->attachments = g_list_store_new (RILL_TYPE_ATTACHMENT);
  self->cancellable = g_cancellable_new ();
  rill_attachment_limits_init (&self->limits);
  g_signal_connect_object (self->text_view, "paste-clipboard", G_CALLBACK (paste_clipboard_cb),
                           self, G_CONNECT_SWAPPED);

  /* Whether this runs before or after the view's own key handling (which
   * hands keys to the input method), key_pressed_cb leaves Return alone
   * while the input method composes. */
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_name (keys, "rill-composer-keys");
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (key_pressed_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->text_view), keys);

  update_button (self);
}
