;;; client.el --- Emacs and eglot against `topoc lsp' -*- lexical-binding: t -*-
;; Loaded by editors/emacs/test/run after the README's init.el. Prints one
;; line per check and a closing "N passed, N failed"; exits non-zero when a
;; check failed.

(require 'package)
(package-initialize)   ; Debian's elpa-eglot on Emacs 28
(require 'eglot)
(require 'xref)

(defvar topoc-test-passed 0)
(defvar topoc-test-failed 0)
(defvar topoc-repo (getenv "TOPOC_REPO"))

(defun topoc-test-check (name ok &optional detail)
  (if ok (setq topoc-test-passed (1+ topoc-test-passed))
    (setq topoc-test-failed (1+ topoc-test-failed)))
  (princ (format "%-7s %s%s\n" (if ok "ok" "FAILED") name
                 (if detail
                     (format " (%s)" (replace-regexp-in-string "\n" " | " (format "%s" detail)))
                   "")))
  ok)

(defun topoc-test-wait (predicate &optional seconds)
  "Run the event loop until PREDICATE holds or SECONDS (10) pass."
  (let ((deadline (+ (float-time) (or seconds 10))) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05)
      (run-hooks 'post-command-hook))
    value))

(defun topoc-test-open (path)
  (find-file (expand-file-name path topoc-repo))
  (run-hooks 'post-command-hook)   ; eglot-ensure connects after the command
  (topoc-test-wait #'eglot-current-server)
  (current-buffer))

(defun topoc-test-goto (needle &optional delta)
  (goto-char (point-min))
  (search-forward needle)
  (goto-char (+ (match-beginning 0) (or delta 0))))

(defun topoc-test-main ()
  (let* ((started (float-time))
         (buffer (topoc-test-open "tests/fixtures/lints/HA001.topo")))
    (topoc-test-check "the major mode of a .topo file is topo-mode" (eq major-mode 'topo-mode) major-mode)
    (topoc-test-check "eglot connects to topoc lsp" (eglot-current-server))
    (let ((diagnostics (topoc-test-wait #'flymake-diagnostics)))
      (topoc-test-check "diagnostics arrive through Flymake"
                        (and diagnostics
                             (string-match-p "\\[HA001\\].*cannot lose a node" (flymake-diagnostic-text (car diagnostics))))
                        (format "%s after %d ms" (mapcar #'flymake-diagnostic-text diagnostics)
                                (round (* 1000 (- (float-time) started))))))
    ;; Hover: the schema's documentation of an attribute.
    (topoc-test-goto "node_capacity = 500rps" 2)
    (let* ((server (eglot-current-server))
           (hover (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams)))
           (contents (plist-get hover :contents))
           (text (if (stringp contents) contents (plist-get contents :value))))
      (topoc-test-check "hover documents an attribute"
                        (and text (string-match-p "What one node serves" text)) text))
    ;; Definition, through xref as M-. does.
    (topoc-test-goto "datasources = [shared_db]" 16)
    (let* ((backend (xref-find-backend))
           (xrefs (xref-backend-definitions backend (xref-backend-identifier-at-point backend)))
           (location (and xrefs (xref-item-location (car xrefs))))
           (line (and location (xref-location-line location)))
           (declared (save-excursion (topoc-test-goto "datasource shared_db") (line-number-at-pos))))
      (topoc-test-check "definition leads to the declaration" (and line (= line declared))
                        (format "line %s, declared on %s" line declared)))
    ;; Completion at point after `ha = '.
    (topoc-test-goto "ha = active-active")
    (delete-region (point) (line-end-position))
    (insert "ha = ")
    (eglot--signal-textDocument/didChange)
    (let* ((capf (eglot-completion-at-point))
           (table (nth 2 capf))
           (labels (and table (sort (all-completions "" table) #'string<))))
      (topoc-test-check "completion offers the allowed values"
                        (equal labels '("active-active" "active-passive" "none")) labels))
    (set-buffer-modified-p nil)
    (kill-buffer buffer))
  ;; Formatting: the buffer as `topoc fmt` writes the file.
  (let* ((fixture (expand-file-name "tests/fixtures/fmt/messy.topo" topoc-repo))
         (copy (make-temp-file "messy" nil ".topo")))
    (copy-file fixture copy t)
    (call-process "topoc" nil nil nil "fmt" copy)
    (let ((canonical (with-temp-buffer (insert-file-contents copy) (buffer-string)))
          (original (with-temp-buffer (insert-file-contents fixture) (buffer-string))))
      (topoc-test-open "tests/fixtures/fmt/messy.topo")
      (eglot-format-buffer)
      (topoc-test-check "formatting rewrites the buffer as topoc fmt does"
                        (and (not (string= original canonical)) (string= (buffer-string) canonical)))
      (set-buffer-modified-p nil))))

(condition-case err
    (topoc-test-main)
  (error (topoc-test-check "the checks ran to the end" nil (error-message-string err))))
(princ (format "%d passed, %d failed\n" topoc-test-passed topoc-test-failed))
(ignore-errors (eglot-shutdown-all))
(kill-emacs (if (> topoc-test-failed 0) 1 0))
