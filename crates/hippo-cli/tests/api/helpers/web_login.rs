//! Browser sessions: the one place tests log in through the HTML form
//! (GET /login for the CSRF cookie and field, POST /login, the session
//! cookie from `Set-Cookie`). A session token works only on the surface
//! it was issued for, so pages need a form login of their own; a second
//! login step (TOTP) is added here once for every page test.

use super::*;

/// The hidden `csrf` field of a form page.
pub fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    let end = html[start..].find('"').expect("end of the csrf field") + start;
    html[start..end].to_owned()
}

/// Where a redirect points.
fn location(response: &Response) -> &str {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `name=value` of the response's `Set-Cookie` for `name`, if it sets one.
pub fn set_cookie_pair(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

impl TestApp {
    /// Submit the login form as a browser would; the raw answer.
    pub async fn web_login_raw(&self, email: &str, password: &str) -> Response {
        let form = self
            .client
            .get(format!("{}/login", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::OK, "GET /login");
        let cookie = set_cookie_pair(&form, "hippo_login_csrf").expect("login csrf cookie");
        let csrf = hidden_csrf(&form.text().await.unwrap());
        self.client
            .post(format!("{}/login", self.url))
            .header("cookie", cookie)
            .header("origin", &self.url)
            .form(&[("email", email), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap()
    }

    /// A browser session for `user`: the session cookie's value, after
    /// the second step's form for staff and operators.
    pub async fn web_login_token(&self, user: &DemoUser) -> String {
        let response = self.web_login_raw(&user.email, &user.password).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "form login of {}",
            user.email
        );
        let response = if location(&response) == "/login/second-factor" {
            self.web_second_step(user, &response).await
        } else {
            response
        };
        let pair = set_cookie_pair(&response, "hippo_session")
            .or_else(|| set_cookie_pair(&response, "__Host-hippo_session"))
            .expect("session cookie");
        pair.split_once('=').unwrap().1.to_owned()
    }

    /// The second step in the browser: the code form, with the pending
    /// login's cookie from the password step.
    async fn web_second_step(&self, user: &DemoUser, password_step: &Response) -> Response {
        let pending =
            set_cookie_pair(password_step, "hippo_pending_login").expect("pending cookie");
        let form = self
            .client
            .get(format!("{}/login/second-factor", self.url))
            .header("cookie", &pending)
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::OK, "GET /login/second-factor");
        let csrf_cookie = set_cookie_pair(&form, "hippo_login_csrf").expect("login csrf cookie");
        let csrf = hidden_csrf(&form.text().await.unwrap());
        let _turn = SECOND_STEPS.lock().await;
        let code = next_totp_code(user, Some(&self.db)).await;
        let response = self
            .client
            .post(format!("{}/login/second-factor", self.url))
            .header("cookie", format!("{pending}; {csrf_cookie}"))
            .header("origin", &self.url)
            .form(&[("code", code.as_str()), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "second step of {}",
            user.email
        );
        response
    }

    /// The session's browser token, logging in through the form on first
    /// use (API-only tests never pay for a second login).
    pub async fn web_token(&self, session: &Session) -> String {
        session
            .web
            .get_or_init(|| self.web_login_token(&session.user))
            .await
            .clone()
    }

    /// The `Cookie` header of the session's browser login.
    pub async fn web_cookie(&self, session: &Session) -> String {
        format!("hippo_session={}", self.web_token(session).await)
    }

    /// The form token of the session's browser login.
    pub async fn web_csrf(&self, session: &Session) -> String {
        hippo_server::auth::csrf::form_token(&self.web_token(session).await)
    }
}
